/** The Ministry's G2G base URLs (SPEC §3): the environments differ only by path. */
export const HES_BASE_URLS = {
  live: 'https://hesservis.turkiye.gov.tr/services/g2g/saglik/hes/',
  test: 'https://hesservis.turkiye.gov.tr/services/g2g/test/saglik/hes/',
} as const;

/** The Ministry's documented maximum of codes per bulk call. */
export const MAX_BULK_CODES = 500;

export const HES_ENDPOINTS = {
  checkHesCode: 'check-hes-code',
  checkEmployeeHesCode: 'check-employee-hes-code',
  checkVisitorHesCode: 'check-visitor-hes-code',
  checkHesCodePlus: 'check-hes-code-plus',
  checkHesCodes: 'check-hes-codes',
  checkHesCodesPlus: 'check-hes-codes-plus',
} as const;

export type HesEndpoint = (typeof HES_ENDPOINTS)[keyof typeof HES_ENDPOINTS];

export const DEFAULTS = {
  connections: 32,
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 15_000,
  bodyTimeoutMs: 15_000,
  userAgent: 'hes-gateway/0.1',
  manyConcurrency: 1,
} as const;
