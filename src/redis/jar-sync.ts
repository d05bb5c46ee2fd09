/**
 * Cookie jars in Redis are kept one cookie per hash field, so two workers that change different cookies of one
 * session never overwrite each other's. A worker sends only the cookies that changed since what it last saw in
 * Redis, and merges Redis's jar into its own when it leases a session another worker has used.
 */
import { Cookie } from 'tough-cookie';
import type { CookieJar } from '../cookies.js';

/** Field name → cookie JSON (without `lastAccessed`, which changes on every read). */
export type CookieFields = Map<string, string>;

interface SerializedCookie {
  key?: string;
  domain?: string | null;
  path?: string | null;
  lastAccessed?: unknown;
  [field: string]: unknown;
}

function fieldOf(cookie: SerializedCookie): string {
  return `${cookie.domain ?? ''};${cookie.path ?? ''};${cookie.key ?? ''}`;
}

/** The cookies of a serialized jar (`CookieJar.serializeSync()` output, or null) as fields. */
export function fieldsOfSerialized(serialized: unknown): CookieFields {
  const fields: CookieFields = new Map();
  const cookies = (serialized as { cookies?: SerializedCookie[] } | null)?.cookies ?? [];
  for (const cookie of cookies) {
    const { lastAccessed: _changesOnRead, ...rest } = cookie;
    fields.set(fieldOf(cookie), JSON.stringify(rest));
  }
  return fields;
}

/** A jar as Redis returns it (HGETALL flattened) → fields. */
export function fieldsOfFlat(flat: readonly string[]): CookieFields {
  const fields: CookieFields = new Map();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i] as string, flat[i + 1] as string);
  return fields;
}

/** Fields to set and to delete to turn `seen` (what Redis holds, as far as we know) into `current`. */
export function diffFields(
  seen: CookieFields | undefined,
  current: CookieFields,
): { sets: [string, string][]; dels: string[] } {
  const sets: [string, string][] = [];
  for (const [field, json] of current) if (seen?.get(field) !== json) sets.push([field, json]);
  const dels: string[] = [];
  if (seen) for (const field of seen.keys()) if (!current.has(field)) dels.push(field);
  return { sets, dels };
}

/** `{ cookies: [...] }` as the pool's restore reads it. */
export function serializedOfFields(fields: CookieFields): { cookies: unknown[] } | null {
  if (fields.size === 0) return null;
  return { cookies: [...fields.values()].map((json) => JSON.parse(json) as unknown) };
}

function noop(): void {}

/**
 * Brings Redis's version of a jar into the local one: cookies Redis has are put (new or changed), cookies that
 * were in Redis (`seen`) and are gone there are removed; cookies only this worker has (not written yet) stay.
 */
export function mergeRemoteJar(jar: CookieJar, remote: CookieFields, seen: CookieFields | undefined): void {
  const local = fieldsOfSerialized(jar.serializeSync());
  for (const [field, json] of remote) {
    if (local.get(field) === json) continue;
    const cookie = Cookie.fromJSON(json);
    if (cookie) jar.store.putCookie(cookie, noop);
  }
  if (!seen) return;
  for (const field of seen.keys()) {
    if (remote.has(field) || !local.has(field)) continue;
    const [domain = '', path = '', ...name] = field.split(';');
    jar.store.removeCookie(domain, path, name.join(';'), noop);
  }
}
