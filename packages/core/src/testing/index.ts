// Test helpers for every test file in the repository; deliberately not exported from @hes/core's main
// entry, so production bundles never carry them.

export { recordPgStatements, type StatementRecording } from './record-pg-statements.js';
export { type CliProcessRun, runCliProcess } from './run-cli-process.js';
export {
  createTestDatabase,
  dropTestDatabase,
  TEST_TEMPLATE_DATABASE,
  type TestDatabase,
  type TestDatabaseOptions,
  testServerUrl,
  uniqueDatabaseName,
} from './test-database.js';
export { createTestRedis, type TestRedis, testRedisUrl } from './test-redis.js';
export { type WaitForOptions, WaitForTimeoutError, waitFor } from './wait-for.js';
