/**
 * At most `size` full Backups loads at once (each asks the engine and pgBackRest and reads the stack's folders):
 * with 20 stacks, 20 loads at once hold up every view's first paint and each other. Loads a view waits for
 * (an expanded stack) go before the background reloads of the others.
 */
export class LoadSlots {
  private running = 0;
  private readonly waiting: { readonly urgent: boolean; readonly go: () => void }[] = [];

  constructor(private readonly size: number) {}

  /** Runs `f` once a slot is free (`urgent`: before every waiting load that is not). */
  async run<T>(urgent: boolean, f: () => Promise<T>): Promise<T> {
    if (this.running < this.size) this.running++;
    else await new Promise<void>((go) => this.enqueue({ urgent, go })); // the slot is handed over
    try {
      return await f();
    } finally {
      const next = this.waiting.shift();
      if (next) next.go();
      else this.running--;
    }
  }

  private enqueue(w: { readonly urgent: boolean; readonly go: () => void }): void {
    const firstNotUrgent = w.urgent ? this.waiting.findIndex((x) => !x.urgent) : -1;
    if (firstNotUrgent < 0) this.waiting.push(w);
    else this.waiting.splice(firstNotUrgent, 0, w);
  }
}
