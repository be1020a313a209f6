import { Type } from 'typebox';

export const HealthSchema = Type.Object({ status: Type.Literal('ok') });

const Probe = Type.Object({
  status: Type.Enum(['ok', 'failed']),
  latencyMs: Type.Number(),
  error: Type.Optional(Type.String()),
});

export const ReadinessSchema = Type.Object({
  status: Type.Enum(['ok', 'unavailable']),
  checks: Type.Object({ postgres: Probe, redis: Probe }),
});
