/**
 * Last-resort teardown for everything the bench starts (clusters, the private Docker engine,
 * compose stacks, temp dirs). Normal teardown is each handle's `stop()`; these hooks only run
 * what is still registered when the process is interrupted (SIGINT/SIGTERM) or exits.
 */
export interface Cleanup {
  /** Human label, for messages. */
  name: string;
  /** Full async teardown (used on SIGINT/SIGTERM). */
  run: () => Promise<void>;
  /** Synchronous best effort (used on process 'exit', where nothing async can run). */
  runSync: () => void;
}

const registered = new Set<Cleanup>();
let installed = false;
let signalled = false;

function install(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) return;
    signalled = true;
    void runAllCleanups().finally(() => {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  };
  // Persistent listeners (not `once`): while teardown runs, a second signal (mocha's parent sends
  // SIGTERM after the terminal's SIGINT) must not reach signal-exit (used by execa) alone, which
  // would re-raise it and kill the process before the teardown ends.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.once('exit', () => {
    // Newest first: stacks before the engine they run on.
    for (const c of [...registered].reverse()) {
      try {
        c.runSync();
      } catch {
        // best effort
      }
    }
    registered.clear();
  });
}

/** Register a teardown; returns a function that unregisters it (call it after a normal stop). */
export function registerCleanup(c: Cleanup): () => void {
  install();
  registered.add(c);
  return () => {
    registered.delete(c);
  };
}

/** Runs every registered teardown (newest first) and forgets them. */
export async function runAllCleanups(): Promise<void> {
  for (const c of [...registered].reverse()) {
    registered.delete(c);
    try {
      await c.run();
    } catch (err) {
      console.error(`cleanup of ${c.name} failed:`, err);
    }
  }
}

/** Names of teardowns still registered (a test checks this is empty at the end). */
export function pendingCleanups(): string[] {
  return [...registered].map((c) => c.name);
}
