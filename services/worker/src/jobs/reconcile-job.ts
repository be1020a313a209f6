import { type ReconcileReport, type ReconcilerOptions, reconcile } from '../domain/reconciler.js';

/** `reconcile`: re-drive pending checks whose job is gone (also run on the in-process maintenance timer). */
export const reconcileJob = (options: ReconcilerOptions) => (): Promise<ReconcileReport> =>
  reconcile(options);
