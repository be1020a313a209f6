import { randomUUID, randomBytes } from 'node:crypto';
import pg from 'pg';
import { createPrisma } from '/work/main/packages/core/src/db/prisma.ts';
const url = 'postgresql://postgres@127.0.0.1:5432/api_scratch';
const prisma = createPrisma(url);
const pool = new pg.Pool({ connectionString: url });
const sql = `INSERT INTO checks (id, kind, code_masked, code_cipher, code_hmac, reference, job_id, request_id) SELECT id, 'standard'::"CheckKind", m, c, h, r, j, 'req' FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::text[]) AS t(id, m, c, h, r, j)`;
function gen(n: number) {
  const ids = Array.from({ length: n }, () => randomUUID());
  return [ids, ids.map(() => 'A1******E5'), ids.map(() => randomBytes(39)), ids.map(() => randomBytes(32).toString('hex')), ids.map((_, i) => `emp-${i}`), ids.map(() => `bulk-xxxx-${ids[0]}`)] as const;
}
for (const mode of ['prisma', 'pg', 'prisma', 'pg']) {
  const t = performance.now();
  for (let c = 0; c < 20; c++) {
    const args = gen(5000);
    if (mode === 'prisma') await prisma.$executeRawUnsafe(sql, ...args);
    else await pool.query(sql, args as any);
  }
  console.log(mode, performance.now() - t);
}
await prisma.$disconnect(); await pool.end();
