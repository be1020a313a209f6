import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

// The schema reads DATABASE_URL; give the CLI the documented default so `prisma generate` never fails on
// a machine where it is unset (SPEC §7).
process.env.DATABASE_URL ??= 'postgresql://postgres@127.0.0.1:5432/hes_gateway';

// Prisma's CLI would download a native schema engine; with the JS engine and the pg driver adapter
// it runs offline (TOOLCHAIN). Migrations are applied by our own runner, not `prisma migrate deploy`.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL }),
});
