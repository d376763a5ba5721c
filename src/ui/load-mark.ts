/**
 * Imported first by extension.ts: the performance mark of the moment the bundle began to load (the bench reads
 * it beside tsdbOps.activate.start to tell module loading from activation; a mark is a few microseconds).
 */
performance.mark('tsdbOps.bundle.start');
export {};
