/**
 * XState's system scheduler cancels an actor's delayed events, whenever any actor stops, by scanning every
 * delayed event of the whole system. Every session keeps an expiry timer, so with N live sessions each retirement
 * cost O(N) and `teardown()` cost O(N²): at 10,000 sessions retire-and-replace ran at about 100 per second and a
 * teardown took over 30 s (see bench/README.md). Indexing the delayed events by their source actor makes each stop
 * cost only that actor's own timers. Scheduling, cancelling and firing are unchanged: every call is delegated.
 */
import type { ActorSystem, ActorSystemInfo, AnyActorRef } from 'xstate';

type Scheduler = ActorSystem<ActorSystemInfo>['scheduler'];

const indexed = new WeakSet<Scheduler>();

/** Makes `system.scheduler.cancelAll` proportional to the stopping actor's own timers. Idempotent. */
export function indexScheduledEvents(system: { scheduler: Scheduler }): void {
  const scheduler = system.scheduler;
  if (indexed.has(scheduler)) return;
  indexed.add(scheduler);
  // Ids of events that fired on their own stay listed until their actor stops; cancelling them then is a no-op.
  const idsBySource = new Map<AnyActorRef, Set<string>>();
  const schedule = scheduler.schedule.bind(scheduler);
  const cancel = scheduler.cancel.bind(scheduler);
  // The scheduler's own methods call each other through the object, so replacing the properties covers them too.
  scheduler.schedule = (source, target, event, delay, id = Math.random().toString(36).slice(2)) => {
    let ids = idsBySource.get(source);
    if (!ids) {
      ids = new Set();
      idsBySource.set(source, ids);
    }
    ids.add(id);
    schedule(source, target, event, delay, id);
  };
  scheduler.cancel = (source, id) => {
    idsBySource.get(source)?.delete(id);
    cancel(source, id);
  };
  scheduler.cancelAll = (source) => {
    const ids = idsBySource.get(source);
    if (!ids) return;
    idsBySource.delete(source);
    for (const id of ids) cancel(source, id);
  };
}
