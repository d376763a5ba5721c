/** A problem found in the user's infra files: shown as an editor diagnostic and in the views. */
export interface InfraProblem {
  /** Absolute path of the file the problem is in (or the folder, for a missing file). */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  readonly severity: 'error' | 'warning';
  /** What is wrong, naming the key or value. */
  readonly message: string;
  /** How to fix it. */
  readonly fix?: string;
}

/** `file:line: message. fix` — the one-line form used in logs, tooltips and tests. */
export function formatProblem(p: InfraProblem, relativeTo?: (file: string) => string): string {
  const where = `${relativeTo ? relativeTo(p.file) : p.file}${p.line ? `:${p.line}` : ''}`;
  return `${where}: ${p.message}${p.fix ? ` ${p.fix}` : ''}`;
}
