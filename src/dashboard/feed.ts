/**
 * Turns a pool's events into what the dashboard draws: one tile slot per session, counts per state, and
 * retirements per second by reason. Changes are batched and handed out every `flushIntervalMs`, so a pool of
 * 10,000 busy sessions costs the browser a few small messages a second, not one per event.
 *
 * The slot of a retired session shows it as retired for `retiredLingerMs`, then goes to the next new session:
 * the grid stays about `maxPoolSize` tiles however many sessions a long crawl goes through.
 */
import type { RetirementReason, SessionStateName } from '../../machines/session.machine.js';
import type { FleetPoolStats } from '../acquisition/fleet.js';
import type { PoolStats } from '../pool-stats.js';
import type { Session, SessionState } from '../session.js';
import type { SessionPool, SessionRetiredEvent, SessionStateChangedEvent } from '../session-pool.js';

/** Tile colors are indexed by these codes, in this order. */
export const STATE_NAMES: readonly SessionStateName[] = [
  'fresh',
  'active',
  'degraded',
  'blocked',
  'expired',
  'retired',
];
const RETIRED = 5;
const TIMELINE_BUCKETS = 600;
const RETIRED_DETAILS_KEPT = 2_000;
/** `pool.stats()` counts usable sessions by a scan: at most once a second. */
const STATS_EVERY_MS = 1_000;

export interface FeedOptions {
  /** Time source for the timeline (epoch ms). */
  now: () => number;
  retiredLingerMs: number;
}

/** Everything a newly connected page needs. */
export interface FeedSnapshot {
  t: number;
  states: readonly string[];
  /** Session id per slot ('' for a slot never used). */
  ids: string[];
  /** State code per slot. */
  codes: number[];
  counts: Record<string, number>;
  created: number;
  retired: number;
  retiredByReason: Record<string, number>;
  /** [second (epoch ms), { reason: count }] for the last ten minutes. */
  timeline: Array<[number, Record<string, number>]>;
  /** `pool.stats()`: counters, uses reserved by requests in flight, and a fleet pool's `fleet` counters. */
  stats: PoolStats & FleetPoolStats;
}

/** What changed since the last batch. */
export interface FeedDelta {
  t: number;
  /** Flat pairs: slot, state code, slot, state code, … */
  tiles: number[];
  /** Ids of slots that got a new session. */
  ids: Record<number, string>;
  counts: Record<string, number>;
  created: number;
  retired: number;
  /** Retirements in this batch, by reason. */
  retiredNow: Record<string, number>;
  /** `pool.stats()`, when it changed (at most once a second). */
  stats?: PoolStats & FleetPoolStats;
}

export class DashboardFeed {
  readonly #pool: SessionPool;
  readonly #options: FeedOptions;
  readonly #ids: string[] = [];
  readonly #codes: number[] = [];
  readonly #slotOf = new Map<string, number>();
  readonly #free: Array<{ slot: number; at: number }> = [];
  readonly #counts: Record<string, number> = Object.fromEntries(
    STATE_NAMES.slice(0, RETIRED).map((s) => [s, 0]),
  );
  readonly #byReason: Record<string, number> = {};
  readonly #timeline = new Map<number, Record<string, number>>();
  readonly #retiredDetails = new Map<string, SessionState>();
  #created = 0;
  #retired = 0;
  #dirty = new Set<number>();
  #newIds: Record<number, string> = {};
  #retiredNow: Record<string, number> = {};
  #stats: { at: number; json: string; value: PoolStats & FleetPoolStats } | undefined;
  readonly #listeners: {
    created: (session: Session) => void;
    changed: (event: SessionStateChangedEvent) => void;
    retired: (event: SessionRetiredEvent) => void;
  };

  constructor(pool: SessionPool, options: FeedOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#listeners = {
      created: (session) => this.#onCreated(session.id, session.state),
      changed: (event) => this.#onChanged(event.session.id, event.state),
      retired: (event) => this.#onRetired(event.session.id, event.reason, event.state),
    };
    // Sessions that exist before the dashboard starts (e.g. restored ones) get tiles too.
    for (const session of pool.sessions()) this.#onCreated(session.id, session.state);
    pool.on('sessionCreated', this.#listeners.created);
    pool.on('sessionStateChanged', this.#listeners.changed);
    pool.on('sessionRetired', this.#listeners.retired);
  }

  /** Stops listening to the pool. */
  detach(): void {
    this.#pool.off('sessionCreated', this.#listeners.created);
    this.#pool.off('sessionStateChanged', this.#listeners.changed);
    this.#pool.off('sessionRetired', this.#listeners.retired);
  }

  snapshot(): FeedSnapshot {
    return {
      t: this.#options.now(),
      states: STATE_NAMES,
      ids: [...this.#ids],
      codes: [...this.#codes],
      counts: { ...this.#counts },
      created: this.#created,
      retired: this.#retired,
      retiredByReason: { ...this.#byReason },
      timeline: [...this.#timeline.entries()].map(([t, reasons]) => [t, { ...reasons }]),
      stats: this.#pool.stats(),
    };
  }

  /** Fresh `pool.stats()` if a second has passed and they changed since last sent. */
  #changedStats(): (PoolStats & FleetPoolStats) | undefined {
    const now = this.#options.now();
    if (this.#stats && now - this.#stats.at < STATS_EVERY_MS) return undefined;
    const value = this.#pool.stats();
    const json = JSON.stringify(value);
    const changed = json !== this.#stats?.json;
    this.#stats = { at: now, json, value };
    return changed ? value : undefined;
  }

  /** The changes since the last call, or undefined when nothing changed. */
  takeDelta(): FeedDelta | undefined {
    const stats = this.#changedStats();
    if (this.#dirty.size === 0 && Object.keys(this.#retiredNow).length === 0 && !stats) return undefined;
    const tiles: number[] = [];
    for (const slot of this.#dirty) tiles.push(slot, this.#codes[slot] ?? 0);
    const delta: FeedDelta = {
      t: this.#options.now(),
      tiles,
      ids: this.#newIds,
      counts: { ...this.#counts },
      created: this.#created,
      retired: this.#retired,
      retiredNow: this.#retiredNow,
      ...(stats ? { stats } : {}),
    };
    this.#dirty = new Set();
    this.#newIds = {};
    this.#retiredNow = {};
    return delta;
  }

  /** Id of the session shown in a slot. */
  idAt(slot: number): string | undefined {
    return this.#ids[slot] || undefined;
  }

  /** The final state of a recently retired session (live sessions are read from the pool). */
  retiredDetails(sessionId: string): SessionState | undefined {
    return this.#retiredDetails.get(sessionId);
  }

  #onCreated(id: string, state: SessionStateName): void {
    if (this.#slotOf.has(id)) return;
    const slot = this.#takeSlot();
    const previous = this.#ids[slot];
    if (previous) this.#slotOf.delete(previous);
    this.#ids[slot] = id;
    this.#slotOf.set(id, slot);
    this.#created += 1;
    this.#newIds[slot] = id;
    this.#setCode(slot, STATE_NAMES.indexOf(state));
  }

  #onChanged(id: string, state: SessionStateName): void {
    const slot = this.#slotOf.get(id);
    if (slot === undefined || this.#codes[slot] === RETIRED) return;
    this.#setCode(slot, STATE_NAMES.indexOf(state));
  }

  #onRetired(id: string, reason: RetirementReason, state: SessionState): void {
    this.#retired += 1;
    this.#byReason[reason] = (this.#byReason[reason] ?? 0) + 1;
    this.#retiredNow[reason] = (this.#retiredNow[reason] ?? 0) + 1;
    const now = this.#options.now();
    const second = now - (now % 1000);
    const bucket = this.#timeline.get(second) ?? {};
    bucket[reason] = (bucket[reason] ?? 0) + 1;
    if (!this.#timeline.has(second)) {
      this.#timeline.set(second, bucket);
      if (this.#timeline.size > TIMELINE_BUCKETS) this.#timeline.delete(this.#timeline.keys().next().value!);
    }
    this.#retiredDetails.set(id, state);
    if (this.#retiredDetails.size > RETIRED_DETAILS_KEPT) {
      this.#retiredDetails.delete(this.#retiredDetails.keys().next().value!);
    }
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return;
    if (this.#codes[slot] !== RETIRED) this.#setCode(slot, RETIRED);
    this.#free.push({ slot, at: now });
  }

  /** New and reused slots hold RETIRED, so only a live previous state is taken off the counts. */
  #setCode(slot: number, code: number): void {
    const previous = this.#codes[slot];
    if (previous !== undefined && previous !== RETIRED) {
      this.#counts[STATE_NAMES[previous]!]! -= 1;
    }
    if (code !== RETIRED) this.#counts[STATE_NAMES[code]!]! += 1;
    this.#codes[slot] = code;
    this.#dirty.add(slot);
  }

  #takeSlot(): number {
    const first = this.#free[0];
    if (first && first.at + this.#options.retiredLingerMs <= this.#options.now()) {
      this.#free.shift();
      return first.slot;
    }
    this.#ids.push('');
    this.#codes.push(RETIRED);
    return this.#ids.length - 1;
  }
}
