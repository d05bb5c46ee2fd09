/**
 * Change detection for write-through persistence. A session changes in two places: its actor's context (marks,
 * cool-downs, retirements) and its cookie jar, which is plain tough-cookie and has no events. Every jar write goes
 * through its store's mutators (`CookieJar.setCookie` calls `putCookie`/`updateCookie`, expiry and eviction call
 * `removeCookie`), so wrapping those on the jar's own store instance sees every cookie change, whoever makes it
 * (the session handle, an HTTP interceptor, a browser sync).
 */
import type { CookieJar } from '../cookies.js';

const MUTATORS = ['putCookie', 'updateCookie', 'removeCookie', 'removeCookies', 'removeAllCookies'] as const;

/** Calls `onChange` after every mutation of `jar`'s store. Returns a function that undoes the wrapping. */
export function observeCookieJar(jar: CookieJar, onChange: () => void): () => void {
  const store = jar.store as unknown as Record<string, unknown>;
  const restore: Array<() => void> = [];
  for (const name of MUTATORS) {
    const original = store[name];
    if (typeof original !== 'function') continue;
    const hadOwn = Object.hasOwn(store, name);
    store[name] = function observed(this: unknown, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      onChange();
      return result;
    };
    restore.push(() => {
      if (hadOwn) store[name] = original;
      else delete store[name];
    });
  }
  return () => {
    for (const undo of restore) undo();
  };
}

/** Something with `subscribe`, as every XState actor ref has. */
interface Subscribable {
  subscribe(next: () => void): { unsubscribe(): void };
}

/** Calls `onChange` on every snapshot of the actor (every processed event that changed or kept its context). */
export function observeActor(ref: unknown, onChange: () => void): () => void {
  const actor = ref as Partial<Subscribable>;
  if (typeof actor.subscribe !== 'function') return () => {};
  const subscription = actor.subscribe(onChange);
  return () => subscription.unsubscribe();
}
