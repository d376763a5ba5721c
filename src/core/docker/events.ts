/**
 * The live model of one compose project: one Docker events stream filtered to the project drives
 * refreshes (debounced); when the stream drops the monitor reports the engine unreachable and
 * reconnects with backoff; an optional slow poll runs only while someone asks for it (a visible view).
 * Nothing polls when nothing changes.
 */
import type Dockerode from 'dockerode';
import type { ComposeService } from '../infra';
import { isUnreachable } from './engine-address';
import { lineSplitter } from './exec';
import { PROJECT_LABEL } from './find';
import { buildStackModel, isOneOff, snapshotFromEngine, type ContainerSnapshot, type StackModel } from './model';
import { errorText } from '../format';
import { EngineTimeoutError } from '../errors/docker';
import { cancel } from '../operations/cancel';
import { OpsError } from '../errors/error';

/** Reads the project's containers (list, then inspect each) into snapshots. */
export async function readProjectContainers(
  docker: Dockerode,
  project: string,
  signal?: AbortSignal,
): Promise<ContainerSnapshot[]> {
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${PROJECT_LABEL}=${project}`] },
    abortSignal: signal,
  } as Dockerode.ContainerListOptions);
  const own = list.filter((c) => !isOneOff(c));
  const inspected = await Promise.all(
    own.map(async (c) => {
      try {
        return snapshotFromEngine(
          c,
          await docker.getContainer(c.Id).inspect({ abortSignal: signal } as Dockerode.ContainerInspectOptions),
        );
      } catch (e) {
        // Removed between list and inspect: the next event refreshes again.
        if ((e as { statusCode?: number }).statusCode === 404) return undefined;
        throw e;
      }
    }),
  );
  return inspected.filter((c): c is ContainerSnapshot => c !== undefined);
}

/** Reads the whole stack model once. */
export async function readStackModel(
  docker: Dockerode,
  input: { project: string; services: readonly ComposeService[]; dbService?: string },
  signal?: AbortSignal,
): Promise<StackModel> {
  const containers = await readProjectContainers(docker, input.project, signal);
  return buildStackModel({ ...input, containers });
}

export type MonitorState =
  | { readonly kind: 'connecting'; readonly model?: StackModel }
  | { readonly kind: 'ready'; readonly model: StackModel }
  /** `model` is the last one read, for messages; it may be stale. */
  | {
      readonly kind: 'unreachable';
      readonly error: string;
      readonly since: Date;
      readonly retryInMs: number;
      readonly model?: StackModel;
    };

export interface MonitorLog {
  (level: 'debug' | 'info' | 'warn', message: string): void;
}

export interface StackMonitorOptions {
  /** The engine client (called on every (re)connect: a new client is fine). */
  connect(): Promise<Dockerode>;
  readonly project: string;
  /** The compose file's services (called on every refresh, so it may change). */
  services(): readonly ComposeService[];
  dbService?(): string | undefined;
  /** Debounce of events (default 300 ms). */
  readonly debounceMs?: number;
  /** The slow fallback poll, while polling is on (default 60 s). */
  readonly pollMs?: number;
  /** Reconnect backoff (default 1 s doubling up to 30 s). */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Limit of one list/inspect round or of opening the events stream (default 10 s). */
  readonly requestTimeoutMs?: number;
  readonly log?: MonitorLog;
}

/** Container event actions that change what the model shows (exec_*, attach, top … do not). */
export const MODEL_EVENTS = [
  'create',
  'start',
  'restart',
  'stop',
  'die',
  'kill',
  'oom',
  'pause',
  'unpause',
  'destroy',
  'rename',
  'update',
  'health_status',
] as const;

export class StackMonitor {
  private current: MonitorState = { kind: 'connecting' };
  private readonly listeners = new Set<(s: MonitorState) => void>();
  private readonly eventListeners = new Set<(action: string) => void>();
  private disposed = false;
  private started = false;
  private stream: { abort: AbortController; body?: NodeJS.ReadableStream } | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private attempt = 0;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private attemptWaiters: Array<() => void> = [];

  constructor(private readonly opts: StackMonitorOptions) {}

  get project(): string {
    return this.opts.project;
  }

  get state(): MonitorState {
    return this.current;
  }

  /** Called with every new state (after each refresh, and on reachability changes). Returns an unsubscribe. */
  onChange(fn: (s: MonitorState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Called with each relevant container event's action, before the debounced refresh (for tests and logs). */
  onEvent(fn: (action: string) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Opens the events stream and reads the model; reconnects by itself from then on. */
  start(): void {
    if (this.started || this.disposed) return;
    this.started = true;
    void this.ensureLoop();
  }

  /**
   * Reads the model now. When the engine is unreachable, retries the connection at once (no waiting
   * for the backoff) and resolves with the outcome of that attempt.
   */
  async refresh(): Promise<MonitorState> {
    if (this.disposed) return this.current;
    if (!this.started) this.start();
    if (this.current.kind !== 'ready' || !this.stream) {
      await this.nextAttempt();
      return this.current;
    }
    await this.refreshModel();
    return this.current;
  }

  /** The slow fallback poll: on only while a view shows the model. */
  setPolling(on: boolean): void {
    if (on && !this.poll && !this.disposed) {
      this.poll = setInterval(() => {
        if (this.current.kind === 'ready') void this.refreshModel();
        else this.wake?.();
      }, this.opts.pollMs ?? 60_000);
      this.poll.unref?.();
    } else if (!on && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  get polling(): boolean {
    return this.poll !== undefined;
  }

  dispose(): void {
    this.disposed = true;
    this.setPolling(false);
    if (this.debounce) clearTimeout(this.debounce);
    this.closeStream();
    this.wake?.();
    this.attemptDone();
    this.listeners.clear();
    this.eventListeners.clear();
  }

  private set(state: MonitorState): void {
    this.current = state;
    for (const fn of [...this.listeners]) {
      try {
        fn(state);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  private closeStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      cancel(s.abort, 'The Docker events stream was closed.');
      (s.body as { destroy?: () => void } | undefined)?.destroy?.();
    }
  }

  private withTimeout<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.opts.requestTimeoutMs ?? 10_000;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new EngineTimeoutError(what, ms);
        ac.abort(err);
        reject(err);
      }, ms);
    });
    return Promise.race([work(ac.signal), timeout]).finally(() => clearTimeout(timer));
  }

  /** One connect loop at a time: open the stream, read the model; on failure wait (backoff) and retry. */
  private ensureLoop(): Promise<void> {
    this.loop ??= this.connectLoop().finally(() => (this.loop = undefined));
    return this.loop;
  }

  /** Resolves when the connect loop's next attempt (starting now, if it is waiting) has an outcome. */
  private nextAttempt(): Promise<void> {
    const done = new Promise<void>((resolve) => this.attemptWaiters.push(resolve));
    void this.ensureLoop();
    this.wake?.();
    return done;
  }

  private attemptDone(): void {
    const waiters = this.attemptWaiters;
    this.attemptWaiters = [];
    for (const w of waiters) w();
  }

  private async connectLoop(): Promise<void> {
    while (!this.disposed) {
      try {
        await this.openStream();
        await this.refreshModel(true);
        if (this.attempt > 0)
          this.opts.log?.('info', `Docker events for project ${this.opts.project}: connected again.`);
        this.attempt = 0;
        this.attemptDone();
        return;
      } catch (e) {
        this.closeStream();
        if (this.disposed) break;
        const b = this.opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
        const delay = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(this.attempt, 16));
        this.attempt++;
        const was = this.current.kind;
        this.set({
          kind: 'unreachable',
          error: errorText(e),
          since: this.current.kind === 'unreachable' ? this.current.since : new Date(),
          retryInMs: delay,
          model: this.current.model,
        });
        this.opts.log?.(
          was === 'unreachable' ? 'debug' : 'warn',
          `Docker not reachable for project ${this.opts.project}: ${errorText(e)}; retrying in ${delay / 1000} s.`,
        );
        this.attemptDone();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          t.unref?.();
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
    this.attemptDone();
  }

  private async openStream(): Promise<void> {
    this.closeStream();
    const docker = await this.opts.connect();
    const abort = new AbortController();
    const handle: { abort: AbortController; body?: NodeJS.ReadableStream } = { abort };
    this.stream = handle;
    const body = (await this.withTimeout('the Docker events stream', (signal) => {
      signal.addEventListener('abort', () => abort.abort(signal.reason), { once: true });
      return docker.getEvents({
        filters: { type: ['container'], label: [`${PROJECT_LABEL}=${this.opts.project}`], event: [...MODEL_EVENTS] },
        abortSignal: abort.signal,
      } as Parameters<Dockerode['getEvents']>[0]) as Promise<NodeJS.ReadableStream>;
    })) as NodeJS.ReadableStream;
    handle.body = body;
    if (this.stream !== handle) {
      (body as { destroy?: () => void }).destroy?.();
      throw new OpsError('cancelled', 'closed');
    }
    const lines = lineSplitter((line) => {
      if (!line.trim()) return;
      let action = '';
      try {
        const ev = JSON.parse(line) as { Action?: string; status?: string };
        action = ev.Action ?? ev.status ?? '';
      } catch {
        return;
      }
      for (const fn of [...this.eventListeners]) fn(action);
      this.scheduleRefresh();
    });
    body.on('data', (c: Buffer) => lines.write(c));
    const lost = (why: string) => {
      if (this.stream !== handle || this.disposed) return;
      this.stream = undefined;
      this.opts.log?.('debug', `Docker events stream for project ${this.opts.project} ended (${why}).`);
      // Reconnect at once: the first failure marks the engine unreachable and starts the backoff.
      void this.ensureLoop();
    };
    body.on('end', () => lost('end'));
    body.on('close', () => lost('close'));
    body.on('error', (e: unknown) => lost(errorText(e)));
  }

  private scheduleRefresh(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refreshModel();
    }, this.opts.debounceMs ?? 300);
    this.debounce.unref?.();
  }

  /**
   * Lists and inspects the project's containers. Concurrent calls share one read and one follow-up.
   * Inside the connect loop (`fromLoop`) a failure is thrown; otherwise an unreachable engine starts the loop.
   */
  private refreshModel(fromLoop = false): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = this.readOnce(fromLoop).finally(() => {
      this.refreshing = undefined;
      if (this.refreshAgain && !this.disposed) {
        this.refreshAgain = false;
        void this.refreshModel();
      }
    });
    return this.refreshing;
  }

  private async readOnce(fromLoop: boolean): Promise<void> {
    try {
      const docker = await this.opts.connect();
      const model = await this.withTimeout('Docker', (signal) =>
        readStackModel(
          docker,
          { project: this.opts.project, services: this.opts.services(), dbService: this.opts.dbService?.() },
          signal,
        ),
      );
      if (this.disposed) return;
      this.set({ kind: 'ready', model });
    } catch (e) {
      if (fromLoop || this.disposed) throw e;
      if (isUnreachable(e) || e instanceof EngineTimeoutError) {
        this.closeStream();
        void this.ensureLoop();
      } else {
        this.opts.log?.('warn', `Reading the containers of project ${this.opts.project} failed: ${errorText(e)}`);
      }
    }
  }
}
