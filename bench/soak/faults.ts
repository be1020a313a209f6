/**
 * Rotating fault phases, applied to the sandbox child over its admin API (PUT /__sandbox/faults). Each
 * phase sets the whole fault configuration, so nothing of the previous phase lingers.
 */
import { request } from 'undici';

export interface FaultPhase {
  name: string;
  faults: Record<string, number>;
}

/** The Ministry's quota in the soak: above the gateway's HES_RATE_LIMIT_RPS, so 429s come only from the 429 phase. */
export const SANDBOX_QUOTA_RPS = 12;

const CALM = {
  latencyMs: 20,
  latencyJitterMs: 15,
  errorRate: 0,
  rateLimitRps: SANDBOX_QUOTA_RPS,
  resetRate: 0,
  slowRate: 0,
  slowMs: 6_000,
};

export const PHASES: FaultPhase[] = [
  { name: 'calm', faults: CALM },
  { name: '5xx 30%', faults: { ...CALM, errorRate: 0.3 } },
  // The quota drops below the gateway's own limit: the Ministry answers 429 with Retry-After.
  { name: '429 (quota 2 rps)', faults: { ...CALM, rateLimitRps: 2 } },
  { name: 'resets 25%', faults: { ...CALM, resetRate: 0.25 } },
  // slowMs is above HES_REQUEST_TIMEOUT_MS: a slow answer is a client timeout.
  { name: 'slow 25% + latency', faults: { ...CALM, latencyMs: 300, latencyJitterMs: 200, slowRate: 0.25 } },
  {
    name: 'mixed',
    faults: { ...CALM, errorRate: 0.1, resetRate: 0.1, slowRate: 0.1, rateLimitRps: 6 },
  },
];

export async function applyFaults(sandboxUrl: string, faults: Record<string, number>): Promise<void> {
  const res = await request(`${sandboxUrl}/__sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`PUT /__sandbox/faults answered ${res.statusCode}: ${text}`);
}

export interface SandboxStats {
  totalRequests: number;
  acceptedRequests: number;
  rateLimited: number;
  serverErrors: number;
  resets: number;
  peakRps: number;
  peakRpsAllArrivals: number;
  byStatus: Record<string, number>;
}

export async function sandboxStats(sandboxUrl: string): Promise<SandboxStats> {
  const res = await request(`${sandboxUrl}/__sandbox/stats`);
  return (await res.body.json()) as SandboxStats;
}
