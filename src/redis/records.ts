/**
 * How a session record maps onto its Redis hash: the context as JSON (`rec`) and the fields the scripts work
 * on (counters, limits, deadlines) apart, and back again, checked like a record read from a file.
 */
import { CorruptStateError, InvalidSavedSessionError } from '../errors.js';
import { validateSessionRecord } from '../stores/document.js';
import type { PersistedSessionRecord } from '../stores/types.js';
import { type CookieFields, serializedOfFields } from './jar-sync.js';

/** Kept in their own hash fields (or, for cookies, their own hash), so they are not part of `rec`. */
const OWN_FIELDS = ['usageCount', 'errorScore', 'blockedUntil', 'retirementReason', 'cookieJar', 'state'];

/**
 * What one worker's machine holds for itself and no other worker may adopt: its reserved uses (the fleet counts
 * uses in Redis; another worker would count them twice), its pacing, and its own `initSession` run.
 */
const WORKER_LOCAL_FIELDS = ['reserved', 'nextUseAt', 'readiness', 'checkFailures', 'initError'];

/** The context fields Redis keeps as JSON (`rec`). */
export function contextFields(record: PersistedSessionRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...record };
  for (const name of OWN_FIELDS) delete fields[name];
  for (const name of WORKER_LOCAL_FIELDS) delete fields[name];
  return fields;
}

/** The record of a session hash (`HGETALL P s:<id>`) and its cookie fields; a retired one has its reason. */
export function decodeRecord(
  id: string,
  hash: Record<string, string>,
  cookies: CookieFields,
  location: string,
  index: number,
): PersistedSessionRecord {
  let context: unknown;
  try {
    context = JSON.parse(hash.rec ?? '');
  } catch {
    throw new CorruptStateError(location, `session "${id}": field "rec" is not JSON`);
  }
  if (typeof context !== 'object' || context === null || Array.isArray(context)) {
    throw new InvalidSavedSessionError(location, id, 'rec', 'expected a JSON object (the session context)');
  }
  // Counters arrive as strings; an empty or missing field must fail validation, not become 0.
  const count = (field: string | undefined): number =>
    field === undefined || field.trim() === '' ? Number.NaN : Number(field);
  return validateSessionRecord(
    {
      ...context,
      id,
      usageCount: count(hash.u),
      errorScore: count(hash.e),
      blockedUntil: hash.bu ? count(hash.bu) : null,
      retirementReason: hash.retired === '1' ? (hash.reason ?? 'manual') : null,
      cookieJar: serializedOfFields(cookies),
    },
    location,
    index,
  );
}
