import type { HesClient, HesEndpoint } from '@hes/client';

export type { BulkEntry, HesCodePlusResult, HesCodeResult, VisitLocation } from '@hes/client';

/**
 * The part of HesClient the worker uses. The runtime takes any object of this shape; in production
 * and in the tests it is the real client talking HTTP (to the Ministry or to the sandbox).
 */
export type HesApi = Pick<
  HesClient,
  | 'checkHesCode'
  | 'checkEmployeeHesCode'
  | 'checkVisitorHesCode'
  | 'checkHesCodePlus'
  | 'checkHesCodes'
  | 'checkHesCodesPlus'
>;

export type Endpoint = HesEndpoint;
