/**
 * Request headers in every shape undici accepts (object, flat array, array of tuples, any iterable of pairs),
 * merged with a session's cookies and header profile into a new flat array: the caller's object is never touched.
 */
import type { RequestHeaders } from './types.js';

/** A header profile prepared once per session: lowercase names for lookups, values as sent. */
export interface PreparedHeaders {
  readonly names: ReadonlySet<string>;
  /** Flat `[name, value, …]`. */
  readonly flat: readonly string[];
}

/** Prepares profile headers (`user-agent` first) for merging. */
export function prepareHeaders(
  userAgent: string | undefined,
  headers: Record<string, string> = {},
): PreparedHeaders {
  const flat: string[] = [];
  const names = new Set<string>();
  if (userAgent !== undefined) {
    flat.push('user-agent', userAgent);
    names.add('user-agent');
  }
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (names.has(lower)) continue;
    names.add(lower);
    flat.push(name, value);
  }
  return { names, flat };
}

function pushValue(out: string[], name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) out.push(name, String(item));
  } else {
    out.push(name, String(value));
  }
}

/** Any undici header shape as a new flat `[name, value, …]` array. */
export function flattenHeaders(headers: RequestHeaders | undefined): string[] {
  const out: string[] = [];
  if (headers === undefined || headers === null) return out;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown as [string, unknown][]) pushValue(out, String(pair[0]), pair[1]);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) pushValue(out, String(headers[i]), headers[i + 1]);
    }
    return out;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) pushValue(out, String(pair[0]), pair[1]);
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) pushValue(out, name, value);
  return out;
}

/**
 * User agents that HTTP clients send when their caller set none: undici's `fetch` (`undici`), Node's global
 * `fetch` (`node`), axios, got, node-fetch. On a session's dispatcher such a value says nothing about what the
 * caller wants, so the session's profile replaces it; any other value is the caller's choice and is kept.
 */
const CLIENT_DEFAULT_USER_AGENTS: readonly RegExp[] = [
  /^undici$/i,
  /^node$/i,
  /^axios\/\d[\w.-]*$/i,
  /^got(?:\/[\w.-]+)? \(https:\/\/github\.com\/sindresorhus\/got\)$/i,
  /^node-fetch(?:\/\d[\w.-]*)?(?: \(\+https:\/\/github\.com\/(?:bitinn|node-fetch)\/node-fetch\))?$/i,
];

/** Whether `value` is the default user agent of a known HTTP client (undici, Node `fetch`, axios, got, node-fetch). */
export function isClientDefaultUserAgent(value: string): boolean {
  const trimmed = value.trim();
  return CLIENT_DEFAULT_USER_AGENTS.some((pattern) => pattern.test(trimmed));
}

/** One `name=value` pair of a `Cookie` header; a pair without `=` is a cookie with an empty name. */
function cookiePairs(header: string): { name: string; pair: string }[] {
  const pairs: { name: string; pair: string }[] = [];
  for (const part of header.split(';')) {
    const pair = part.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    pairs.push({ name: eq === -1 ? '' : pair.slice(0, eq).trim(), pair });
  }
  return pairs;
}

/**
 * The request's own `Cookie` value merged with the jar's, as Crawlee merges them: the request's value wins per
 * name and no name is sent twice. The request's cookies come first (the last of a repeated name wins), then the
 * jar's cookies whose names the request did not set, in the jar's order (RFC 6265: longer paths first).
 */
export function mergeCookieHeader(requestCookie: string, jarCookie: string): string {
  if (!requestCookie) return jarCookie;
  const byName = new Map<string, string>();
  for (const { name, pair } of cookiePairs(requestCookie)) {
    byName.delete(name);
    byName.set(name, pair);
  }
  const merged = [...byName.values()];
  if (jarCookie) {
    for (const { name, pair } of cookiePairs(jarCookie)) if (!byName.has(name)) merged.push(pair);
  }
  return merged.join('; ');
}

/**
 * The headers to send: the caller's, then the profile's headers the caller did not set, and one `Cookie` header
 * (RFC 6265) merging the caller's cookies with the jar's (`mergeCookieHeader`). A client's default user agent
 * (`isClientDefaultUserAgent`) counts as not set when the profile has a user agent.
 */
export function mergeRequestHeaders(
  headers: RequestHeaders | undefined,
  cookie: string,
  profile: PreparedHeaders | undefined,
): string[] {
  const out = flattenHeaders(headers);
  let cookieIndex = -1;
  const replacesDefaultAgent = profile?.names.has('user-agent') === true;
  const seen = profile ? new Set<string>() : undefined;
  for (let i = 0; i < out.length; i += 2) {
    const lower = (out[i] as string).toLowerCase();
    if (lower === 'cookie') {
      if (cookieIndex === -1) {
        cookieIndex = i;
      } else {
        // Several Cookie headers are folded into the first one.
        out[cookieIndex + 1] = `${out[cookieIndex + 1]}; ${out[i + 1]}`;
        out.splice(i, 2);
        i -= 2;
        continue;
      }
    } else if (
      lower === 'user-agent' &&
      replacesDefaultAgent &&
      isClientDefaultUserAgent(out[i + 1] as string)
    ) {
      out.splice(i, 2);
      i -= 2;
      continue;
    }
    seen?.add(lower);
  }
  if (profile) {
    const flat = profile.flat;
    for (let i = 0; i < flat.length; i += 2) {
      if (!seen?.has((flat[i] as string).toLowerCase())) out.push(flat[i] as string, flat[i + 1] as string);
    }
  }
  if (cookieIndex !== -1) {
    const merged = mergeCookieHeader(out[cookieIndex + 1] as string, cookie);
    if (merged) out[cookieIndex + 1] = merged;
    else out.splice(cookieIndex, 2);
  } else if (cookie) {
    out.push('cookie', cookie);
  }
  return out;
}

/** Lowercase response headers with string or string-array values (what undici's parser gives, normalized). */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}
