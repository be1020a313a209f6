import type { Recorder } from './report.js';

export interface ScenarioContext {
  quick: boolean;
  rec: Recorder;
  /** Figures one scenario hands to a later one in the same run (e.g. the pipeline rate for the naive speed-up). */
  shared: Record<string, number>;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: ScenarioContext): Promise<void>;
}
