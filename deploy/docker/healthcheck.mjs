#!/usr/bin/env node
// Container HEALTHCHECK without curl or wget in the slim image: GET <url>, healthy on a 2xx within 3 s.
// Usage: node healthcheck.mjs http://127.0.0.1:3000/healthz
const url = process.argv[2];
if (!url) {
  console.error('usage: healthcheck.mjs <url>');
  process.exit(2);
}
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  await res.arrayBuffer();
  if (!res.ok) {
    console.error(`unhealthy: ${url} answered ${res.status}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`unhealthy: ${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
