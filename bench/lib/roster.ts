import { generateSandboxCodes } from '@hes/sandbox';

/** `count` distinct RISKLESS sandbox codes (deterministic for a seed), dashed as people print them. */
export function rosterCodes(count: number, seed = 1): string[] {
  return generateSandboxCodes('RISKLESS', count, seed);
}

export function rosterJson(codes: readonly string[], kind = 'standard'): string {
  return JSON.stringify({
    kind,
    items: codes.map((c, i) => ({ hesCode: c, reference: `emp-${i}`, identityLast3: '123' })),
  });
}

export function rosterCsv(codes: readonly string[]): string {
  const lines = ['hesCode,reference,identityLast3'];
  for (let i = 0; i < codes.length; i++) lines.push(`${codes[i]},emp-${i},123`);
  return `${lines.join('\n')}\n`;
}
