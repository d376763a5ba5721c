/** Restore drills: moved to ./drill/ (a pipeline of named phases); this path keeps the public API. */
export * from './drill/index';
