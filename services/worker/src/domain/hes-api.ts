/**
 * The part of `@hes/client`'s HesClient the worker uses, as a port: the runtime takes any object with
 * this shape (the real client in production and tests; nothing else is ever substituted upstream).
 */
export interface HesPlusFields {
  vaccinated: boolean | null;
  immune: boolean | null;
  testDataShared: boolean | null;
  lastNegativeTestAt: Date | null;
}

export interface HesCheckResult {
  healthStatus: 'RISKLESS' | 'RISKY';
  expiresAt: Date | null;
  maskedIdentityNumber: string | null;
  maskedFirstName: string | null;
  maskedLastName: string | null;
  plus?: HesPlusFields | undefined;
}

export type BulkFailureReason = 'NOT_FOUND' | 'EXPIRED' | 'UNKNOWN' | 'MISSING';

export type BulkEntry =
  | { code: string; ok: true; result: HesCheckResult }
  | { code: string; ok: false; reason: BulkFailureReason; errorKey: string | null };

export interface VisitLocation {
  city: string;
  district: string;
  address: string;
  latitude?: number | null | undefined;
  longitude?: number | null | undefined;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface HesApi {
  checkHesCode(code: string, options?: CallOptions): Promise<HesCheckResult>;
  checkEmployeeHesCode(code: string, options?: CallOptions): Promise<HesCheckResult>;
  checkVisitorHesCode(code: string, visit: VisitLocation, options?: CallOptions): Promise<HesCheckResult>;
  checkHesCodePlus(code: string, options?: CallOptions): Promise<HesCheckResult>;
  checkHesCodes(codes: readonly string[], options?: CallOptions): Promise<BulkEntry[]>;
  checkHesCodesPlus(codes: readonly string[], options?: CallOptions): Promise<BulkEntry[]>;
}

export type Endpoint =
  | 'check-hes-code'
  | 'check-employee-hes-code'
  | 'check-visitor-hes-code'
  | 'check-hes-code-plus'
  | 'check-hes-codes'
  | 'check-hes-codes-plus';
