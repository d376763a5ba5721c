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

/** What the Containers view and the database status bar item show (for automation and the in-host tests). */
export interface ContainersApi {
  /** The view's rows now, as a person sees them (label = service, description = state). */
  items(): Promise<Array<{ label: string; description?: string; contextValue?: string; tooltip?: string }>>;
  /** The status bar item now; with several stacks `stack` is the one shown (active editor's folder, or pinned). */
  statusBar(): {
    text: string;
    tooltip: string;
    background?: string;
    visible: boolean;
    stack?: string;
    pinned?: boolean;
  };
  /** Docker reachability over every stack. */
  reachability(): 'unknown' | 'reachable' | 'unreachable';
}

/** What the Backups view, the backup freshness status item and the pgBackRest/Ofelia channels show (automation, in-host tests). */
export interface BackupsApi {
  /** Every row of the Backups view, depth first (depth 0 = group). */
  rows(): Promise<
    Array<{ depth: number; label: string; description?: string; contextValue?: string; tooltip?: string }>
  >;
  /** The freshness status item rendered at `at` (ISO time; default now), or undefined when hidden. */
  statusBar(at?: string): { text: string; level: 'ok' | 'warning' | 'error' | 'none'; tooltip: string } | undefined;
  /** The lines the channel printed so far (secrets masked). */
  channel(name: 'pgBackRest' | 'Ofelia'): string[];
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
  /** The Containers view and the database status bar item. */
  readonly containers?: ContainersApi;
  /** The Migrations view's rows of the first two levels (automation, the bench's first-render figure). */
  readonly migrations?: { items(): Promise<Array<{ label: string }>> };
  /** The Backups view, the freshness status item and the log channels. */
  readonly backups?: BackupsApi;
  /** The root rows of a view (with several stacks: one per folder, described with the stack and its engine). */
  viewRoots?(view: 'containers' | 'migrations' | 'backups'): Promise<Array<{ label: string; description?: string }>>;
}
