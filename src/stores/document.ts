/**
 * Reading and writing the stored document. Every field is checked on the way in, because the file may have been
 * truncated by a crash of another tool, edited by hand, or written by a newer release: a bad document must fail
 * with an error that names the place and the field, never restore a half-valid pool.
 */
import { isRetirementReason, type RetirementReason } from '../../machines/session.machine.js';
import { MAX_DATE_MS, serializedCookieProblem } from '../cookies.js';
import { CorruptStateError, InvalidSavedSessionError, UnsupportedStateVersionError } from '../errors.js';
import {
  type PersistedPoolDocument,
  type PersistedPoolRecord,
  type PersistedSessionRecord,
  STATE_FORMAT,
  STATE_VERSION,
} from './types.js';

type Fields = Record<string, unknown>;

function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Parses and checks a stored document's text. `location` names it in errors. */
export function decodeDocument(text: string, location: string): PersistedPoolDocument {
  if (text.trim() === '') throw new CorruptStateError(location, 'the file is empty (truncated?)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new CorruptStateError(location, `not valid JSON (truncated or edited?): ${detail}`, {
      cause: error,
    });
  }
  return validateDocument(parsed, location);
}

/** Checks a parsed document. */
export function validateDocument(value: unknown, location: string): PersistedPoolDocument {
  if (!isPlainObject(value))
    throw new CorruptStateError(location, `expected a JSON object, got ${kind(value)}`);
  if (value.format !== STATE_FORMAT) {
    throw new CorruptStateError(
      location,
      `"format" is ${JSON.stringify(value.format)}, expected "${STATE_FORMAT}"`,
    );
  }
  const version = value.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new CorruptStateError(
      location,
      `"version" must be a positive whole number, got ${JSON.stringify(version)}`,
    );
  }
  if (version > STATE_VERSION) throw new UnsupportedStateVersionError(location, version, STATE_VERSION);
  if (typeof value.savedAt !== 'number' || !Number.isFinite(value.savedAt)) {
    throw new CorruptStateError(location, '"savedAt" must be a number (epoch milliseconds)');
  }
  const pool = validatePool(value.pool, location);
  if (!Array.isArray(value.sessions)) {
    throw new CorruptStateError(location, `"sessions" must be an array, got ${kind(value.sessions)}`);
  }
  const seen = new Set<string>();
  const sessions = value.sessions.map((raw, index) => {
    const record = validateSessionRecord(raw, location, index);
    if (seen.has(record.id)) throw new InvalidSavedSessionError(location, record.id, 'id', 'appears twice');
    seen.add(record.id);
    return record;
  });
  return { format: STATE_FORMAT, version: STATE_VERSION, savedAt: value.savedAt, pool, sessions };
}

function validatePool(value: unknown, location: string): PersistedPoolRecord {
  if (!isPlainObject(value))
    throw new CorruptStateError(location, `"pool" must be an object, got ${kind(value)}`);
  const count = (field: 'createdCount' | 'retiredCount'): number => {
    const n = value[field];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw new CorruptStateError(
        location,
        `"pool.${field}" must be a whole number ≥ 0, got ${JSON.stringify(n)}`,
      );
    }
    return n;
  };
  return { createdCount: count('createdCount'), retiredCount: count('retiredCount') };
}

/** Checks one saved session; unknown extra fields (added to the context by other features) pass through. */
export function validateSessionRecord(raw: unknown, location: string, index: number): PersistedSessionRecord {
  if (!isPlainObject(raw)) {
    throw new CorruptStateError(location, `sessions[${index}] must be an object, got ${kind(raw)}`);
  }
  const id = raw.id;
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidSavedSessionError(
      location,
      `#${index}`,
      'id',
      `expected a non-empty string, got ${kind(id)}`,
    );
  }
  const fail = (field: string, problem: string): never => {
    throw new InvalidSavedSessionError(location, id, field, problem);
  };
  const number = (
    field: string,
    rule: { integer?: boolean; min: number; exclusive?: boolean; max?: number },
  ): void => {
    const n = raw[field];
    if (typeof n !== 'number' || !Number.isFinite(n)) fail(field, `expected a number, got ${kind(n)}`);
    if (typeof n !== 'number') return;
    if (rule.integer && !Number.isInteger(n)) fail(field, `expected a whole number, got ${n}`);
    if (rule.exclusive ? n <= rule.min : n < rule.min) {
      fail(field, `must be ${rule.exclusive ? 'greater than' : 'at least'} ${rule.min}, got ${n}`);
    }
    if (rule.max !== undefined && n > rule.max) fail(field, `must be at most ${rule.max}, got ${n}`);
  };
  // Deadlines become Dates (getState, ISO 8601 in events): beyond the last instant a Date holds they would throw.
  number('createdAt', { min: 0, max: MAX_DATE_MS });
  number('expiresAt', { min: 0, max: MAX_DATE_MS });
  number('usageCount', { integer: true, min: 0 });
  number('maxUsageCount', { integer: true, min: 1 });
  number('errorScore', { min: 0 });
  number('maxErrorScore', { min: 0, exclusive: true });
  number('errorScoreDecrement', { min: 0 });
  if (raw.blockedUntil !== null && raw.blockedUntil !== undefined) {
    number('blockedUntil', { min: 0, max: MAX_DATE_MS });
  }
  if (raw.blockedStatusCode !== null && raw.blockedStatusCode !== undefined) {
    number('blockedStatusCode', { integer: true, min: 100 });
  }
  const codes = raw.blockedStatusCodes;
  if (!Array.isArray(codes)) fail('blockedStatusCodes', `expected an array, got ${kind(codes)}`);
  (codes as unknown[]).forEach((code, i) => {
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 100 || code > 599) {
      fail(`blockedStatusCodes[${i}]`, `expected a status code (100-599), got ${JSON.stringify(code)}`);
    }
  });
  const bindings = raw.bindings;
  if (bindings !== undefined && bindings !== null) {
    if (!isPlainObject(bindings)) fail('bindings', `expected an object or null, got ${kind(bindings)}`);
    const { proxy, headerProfile } = bindings as Fields;
    if (proxy !== null && typeof proxy !== 'string')
      fail('bindings.proxy', `expected a string or null, got ${kind(proxy)}`);
    if (headerProfile !== null && !(Number.isInteger(headerProfile) && (headerProfile as number) >= 0)) {
      fail(
        'bindings.headerProfile',
        `expected a whole number ≥ 0 or null, got ${JSON.stringify(headerProfile)}`,
      );
    }
  }
  if (raw.userData !== undefined && !isPlainObject(raw.userData)) {
    fail('userData', `expected an object, got ${kind(raw.userData)}`);
  }
  const reason = raw.retirementReason;
  if (reason !== null && reason !== undefined && !isRetirementReason(reason)) {
    fail('retirementReason', `unknown reason ${JSON.stringify(reason)}`);
  }
  validateCookieJar(raw.cookieJar, fail);
  return {
    ...raw,
    id,
    userData: (raw.userData as Fields | undefined) ?? {},
    blockedUntil: (raw.blockedUntil as number | null | undefined) ?? null,
    blockedStatusCode: (raw.blockedStatusCode as number | null | undefined) ?? null,
    retirementReason: (reason as RetirementReason | null | undefined) ?? null,
    cookieJar: (raw.cookieJar as PersistedSessionRecord['cookieJar'] | undefined) ?? null,
  } as PersistedSessionRecord;
}

function validateCookieJar(jar: unknown, fail: (field: string, problem: string) => never): void {
  if (jar === null || jar === undefined) return;
  if (!isPlainObject(jar)) fail('cookieJar', `expected a serialized cookie jar, got ${kind(jar)}`);
  const cookies = (jar as Fields).cookies;
  if (!Array.isArray(cookies))
    return void fail('cookieJar.cookies', `expected an array, got ${kind(cookies)}`);
  cookies.forEach((cookie, i) => {
    const problem = serializedCookieProblem(cookie);
    if (!problem) return;
    const at = `cookieJar.cookies[${i}]`;
    if (problem.field === '') fail(at, 'not a serialized cookie (needs at least "key" and "value")');
    fail(`${at}.${problem.field}`, problem.problem);
  });
}

/** The JSON text of one session record, as stores keep it. */
export function encodeSessionRecord(record: PersistedSessionRecord): string {
  return JSON.stringify(record);
}

/** Assembles a document from per-session JSON texts without parsing them again. */
export function encodeDocument(
  savedAt: number,
  pool: PersistedPoolRecord,
  sessions: Iterable<string>,
): string {
  const head = JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION, savedAt, pool });
  let body = '';
  for (const session of sessions) body += body === '' ? `\n${session}` : `,\n${session}`;
  return `${head.slice(0, -1)},"sessions":[${body}\n]}\n`;
}
