/** Runs an action once after a burst of events (a save or a checkout changes many files at once). */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly action: () => unknown) {}

  schedule(delayMs = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.action();
    }, delayMs);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
