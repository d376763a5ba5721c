/** The plain data the linter reads and gives: files, table facts, severities, quick fixes. */

export type Severity = 'error' | 'warning' | 'info';
export type RuleCategory = 'parse' | 'lock' | 'destructive' | 'sqlx' | 'timescaledb';

export interface LintFile {
  readonly path: string;
  /** The text as sqlx sends it (without a BOM). */
  readonly sql: string;
  /** The file starts with `-- no-transaction`. */
  readonly noTx: boolean;
}

/** What the database says about an existing table. */
export interface TableFacts {
  readonly schema: string;
  readonly name: string;
  /** pg_total_relation_size (a hypertable: all its chunks). */
  readonly bytes: number;
  /** The planner's estimate; -1 when never analyzed. */
  readonly rows: number;
  readonly hypertable: boolean;
  readonly chunks?: number;
  readonly compressionEnabled?: boolean;
  /** The hypertable's time (first) dimension column. */
  readonly partitionColumn?: string;
}

export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

export interface QuickFix {
  readonly title: string;
  /** Edits to the linted file (character offsets). */
  readonly edits: readonly TextEdit[];
  /** A new migration to create after this one: its description and whole text. */
  readonly newMigration?: { readonly description: string; readonly sql: string };
}
