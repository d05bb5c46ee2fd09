/**
 * What the relay replays to a browser that connects after start-up: the registration and latest snapshot of
 * every live actor, then the most recent events. Actors leave the buffer when they finish (a retired session's
 * `done` snapshot), so a long crawl that retires and replaces sessions does not grow it without bound.
 */

const FINISHED = new Set(['done', 'error', 'stopped']);

interface InspectionMessage {
  type?: unknown;
  sessionId?: unknown;
  snapshot?: { status?: unknown } | null;
}

export class ReplayBuffer {
  readonly #maxActors: number;
  readonly #maxEvents: number;
  /** Insertion order is registration order, which is the order a browser must learn about actors in. */
  readonly #registrations = new Map<string, string>();
  readonly #snapshots = new Map<string, string>();
  #events: string[] = [];

  constructor(maxActors: number, maxEvents: number) {
    this.#maxActors = maxActors;
    this.#maxEvents = maxEvents;
  }

  /** Keeps what a late browser needs from one relayed message; anything unparseable is only relayed. */
  record(message: string): void {
    let parsed: InspectionMessage;
    try {
      parsed = JSON.parse(message) as InspectionMessage;
    } catch {
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.sessionId !== 'string') return;
    const id = parsed.sessionId;
    if (parsed.type === '@xstate.actor') {
      this.#registrations.delete(id);
      if (this.#maxActors === 0) return;
      this.#registrations.set(id, message);
      if (this.#registrations.size > this.#maxActors) {
        const oldest = this.#registrations.keys().next().value as string;
        this.#forget(oldest);
      }
    } else if (parsed.type === '@xstate.snapshot') {
      if (FINISHED.has(String(parsed.snapshot?.status))) this.#forget(id);
      else if (this.#registrations.has(id)) this.#snapshots.set(id, message);
    } else if (parsed.type === '@xstate.event' && this.#maxEvents > 0) {
      this.#events.push(message);
      // Trimmed in batches so recording stays O(1) amortized.
      if (this.#events.length >= this.#maxEvents * 2) this.#events = this.#events.slice(-this.#maxEvents);
    }
  }

  /** Registrations first (a snapshot for an unknown actor is dropped by the UI), then snapshots, then events. */
  messages(): string[] {
    return [
      ...this.#registrations.values(),
      ...this.#snapshots.values(),
      ...this.#events.slice(-this.#maxEvents),
    ];
  }

  get actorCount(): number {
    return this.#registrations.size;
  }

  #forget(id: string): void {
    this.#registrations.delete(id);
    this.#snapshots.delete(id);
  }
}
