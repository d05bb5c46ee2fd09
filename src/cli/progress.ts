/**
 * The demo's progress: on a terminal, one line redrawn in place ten times a second; elsewhere (CI, a pipe),
 * a plain line at every tenth of the crawl, so logs stay short and readable.
 */
import type { SessionStateName } from '../../machines/session.machine.js';
import type { SessionPool } from '../session-pool.js';

export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressCounts {
  pagesOk: number;
  pagesFailed: number;
  /** Sessions retired during this run (the pool's own counter also holds earlier runs restored from disk). */
  retired: number;
}

const LIVE_STATES: readonly SessionStateName[] = ['fresh', 'active', 'degraded', 'blocked'];

export function sessionsByState(pool: SessionPool): Record<string, number> {
  const counts: Record<string, number> = { fresh: 0, active: 0, degraded: 0, blocked: 0 };
  for (const session of pool.sessions()) {
    const state = session.state;
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}

export class Progress {
  readonly #out: ProgressOutput;
  readonly #pool: SessionPool;
  readonly #total: number;
  readonly #counts: () => ProgressCounts;
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #nextMilestone = 1;
  #drawn = false;

  constructor(out: ProgressOutput, pool: SessionPool, total: number, counts: () => ProgressCounts) {
    this.#out = out;
    this.#pool = pool;
    this.#total = total;
    this.#counts = counts;
  }

  get isTTY(): boolean {
    return this.#out.isTTY === true;
  }

  start(): void {
    this.#timer = setInterval(() => this.tick(), this.isTTY ? 100 : 250);
    this.#timer.unref();
  }

  /** One line describing the crawl now. */
  line(): string {
    const { pagesOk, pagesFailed, retired } = this.#counts();
    const done = pagesOk + pagesFailed;
    const seconds = (performance.now() - this.#started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const states = sessionsByState(this.#pool);
    const perState = LIVE_STATES.map((state) => `${state} ${states[state] ?? 0}`).join(' ');
    const percent = Math.floor((done / this.#total) * 100);
    return (
      `pages ${done}/${this.#total} (${percent}%) · ${rate.toFixed(0)}/s · ` +
      `sessions ${perState} · retired ${retired}`
    );
  }

  tick(): void {
    if (this.isTTY) {
      const width = Math.max(20, (this.#out.columns ?? 120) - 1);
      this.#out.write(`\r\x1b[2K${this.line().slice(0, width)}`);
      this.#drawn = true;
      return;
    }
    const { pagesOk, pagesFailed } = this.#counts();
    const done = pagesOk + pagesFailed;
    if (done >= (this.#nextMilestone * this.#total) / 10) {
      while (done >= (this.#nextMilestone * this.#total) / 10) this.#nextMilestone += 1;
      this.#out.write(`${this.line()}\n`);
    }
  }

  /** Stops redrawing; on a terminal the progress line is cleared so the summary starts clean. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.isTTY && this.#drawn) this.#out.write('\r\x1b[2K');
  }
}
