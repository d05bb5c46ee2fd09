/**
 * What the relay replays to a browser that connects after start-up: the registration and latest snapshot of
 * every live actor, then the most recent events. Actors leave the buffer when they finish (a retired session's
 * `done` snapshot), so a long crawl that retires and replaces sessions does not grow it without bound; and the
 * whole buffer has a byte budget, so a few huge messages cannot take the process's memory either.
 */

const FINISHED = new Set(['done', 'error', 'stopped']);

interface InspectionMessage {
  type?: unknown;
  sessionId?: unknown;
  snapshot?: { status?: unknown } | null;
}

export interface ReplayLimits {
  /** Live actors kept (registration + latest snapshot). */
  maxActors: number;
  /** Recent `@xstate.event` messages kept. */
  maxEvents: number;
  /** Bytes (UTF-8) of everything kept; the oldest events go first, then the oldest actors. */
  maxBytes: number;
}

export class ReplayBuffer {
  readonly #limits: ReplayLimits;
  /** Insertion order is registration order, which is the order a browser must learn about actors in. */
  readonly #registrations = new Map<string, string>();
  readonly #snapshots = new Map<string, string>();
  /** Events from `#eventsStart` on; trimmed in batches so recording stays O(1) amortized. */
  #events: string[] = [];
  #eventsStart = 0;
  #bytes = 0;

  constructor(limits: ReplayLimits) {
    this.#limits = limits;
  }

  /** Keeps what a late browser needs from one relayed message; anything unparseable is only relayed. */
  record(message: string): void {
    const size = Buffer.byteLength(message);
    if (size > this.#limits.maxBytes) return;
    let parsed: InspectionMessage;
    try {
      parsed = JSON.parse(message) as InspectionMessage;
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.sessionId !== 'string') return;
    const id = parsed.sessionId;
    if (parsed.type === '@xstate.actor') {
      this.#forget(id);
      if (this.#limits.maxActors === 0) return;
      this.#registrations.set(id, message);
      this.#bytes += size;
      if (this.#registrations.size > this.#limits.maxActors) {
        this.#forget(this.#registrations.keys().next().value as string);
      }
    } else if (parsed.type === '@xstate.snapshot') {
      if (FINISHED.has(String(parsed.snapshot?.status))) this.#forget(id);
      else if (this.#registrations.has(id)) {
        this.#bytes -= byteLength(this.#snapshots.get(id));
        this.#snapshots.set(id, message);
        this.#bytes += size;
      }
    } else if (parsed.type === '@xstate.event' && this.#limits.maxEvents > 0) {
      this.#events.push(message);
      this.#bytes += size;
      if (this.#events.length - this.#eventsStart > this.#limits.maxEvents) this.#dropOldestEvent();
    }
    while (this.#bytes > this.#limits.maxBytes) {
      if (this.#events.length > this.#eventsStart) this.#dropOldestEvent();
      else if (this.#registrations.size > 0) this.#forget(this.#registrations.keys().next().value as string);
      else break;
    }
  }

  /** Registrations first (a snapshot for an unknown actor is dropped by the UI), then snapshots, then events. */
  messages(): string[] {
    return [
      ...this.#registrations.values(),
      ...this.#snapshots.values(),
      ...this.#events.slice(this.#eventsStart),
    ];
  }

  get actorCount(): number {
    return this.#registrations.size;
  }

  /** Bytes (UTF-8) held. */
  get byteSize(): number {
    return this.#bytes;
  }

  #dropOldestEvent(): void {
    this.#bytes -= byteLength(this.#events[this.#eventsStart]);
    this.#events[this.#eventsStart] = '';
    this.#eventsStart += 1;
    if (this.#eventsStart >= 1024 && this.#eventsStart * 2 >= this.#events.length) {
      this.#events = this.#events.slice(this.#eventsStart);
      this.#eventsStart = 0;
    }
  }

  #forget(id: string): void {
    this.#bytes -= byteLength(this.#registrations.get(id)) + byteLength(this.#snapshots.get(id));
    this.#registrations.delete(id);
    this.#snapshots.delete(id);
  }
}

function byteLength(message: string | undefined): number {
  return message === undefined ? 0 : Buffer.byteLength(message);
}
