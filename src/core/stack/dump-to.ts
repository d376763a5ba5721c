/** `tsdbOps.backups.dumpTo`: where pg_dump / pg_dumpall write. */
export type DumpTo = 'auto' | 'engine' | 'here';
export const DUMP_TO: readonly DumpTo[] = ['auto', 'engine', 'here'];
