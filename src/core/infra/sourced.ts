/** Where a resolved value came from (the stack context, core/stack/context, names one for each value). */
export type SourceKind =
  | 'setting'
  | 'compose'
  | 'env-file'
  | 'container-env'
  | 'process-env'
  | 'config-file'
  | 'ofelia-job'
  | 'container'
  | 'engine'
  | 'default';

/** A value and where it came from ("setting tsdbOps.backups.stanza", "POSTGRES_USER of service timescaledb in …"). */
export interface Sourced<T> {
  readonly value: T;
  readonly source: SourceKind;
  /** For a person: the setting, file and key, or the rule. */
  readonly from: string;
}

export function sourced<T>(value: T, source: SourceKind, from: string): Sourced<T> {
  return { value, source, from };
}
