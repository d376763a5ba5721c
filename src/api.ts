/** The typed API `activate()` returns (also what the in-host tests use). */
export interface StackSummary {
  readonly folder: string;
  readonly infraDir: string;
  readonly composeFile: string;
  readonly projectName: string;
  readonly services: string[];
  readonly dbService?: string;
  readonly migrationsDir?: string;
  readonly problems: Array<{ file: string; line?: number; message: string; fix?: string }>;
}

export interface TsdbOpsApi {
  /** Time activate() took, in milliseconds. */
  readonly activationTimeMs: number;
  /** Resolves when the first discovery of every workspace folder is done. */
  readonly ready: Promise<void>;
  /** The stacks found, one per workspace folder that has one. */
  stacks(): StackSummary[];
  /** Discovers again and redraws every view. */
  refresh(): Promise<void>;
}
