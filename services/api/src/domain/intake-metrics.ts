import type { CheckKind } from '@hes/core';

/** What the intake reports; the metrics plugin backs it with prom-client counters. */
export interface IntakeMetrics {
  accepted(kind: CheckKind, source: 'single' | 'batch', count: number): void;
  /** `reason` is a problem code (INVALID_HES_CODE, VISIT_REQUIRED …): never a code, key or reference. */
  rejected(reason: string, count: number): void;
  enqueueFailed(source: 'single' | 'batch'): void;
}
