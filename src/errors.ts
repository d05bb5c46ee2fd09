/**
 * Every error this library throws is a `SessionSupervisorError` with a stable `code`, in the manner of undici's
 * errors: catch by class, or switch on `code`.
 */
export class SessionSupervisorError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option (or a field of a session's options) is missing, of the wrong type or out of range. */
export class InvalidOptionError extends SessionSupervisorError {
  /** Dotted path of the bad field, e.g. `sessionOptions.maxAgeSecs`. */
  readonly field: string;

  constructor(field: string, problem: string) {
    super('ERR_INVALID_OPTION', `Invalid option "${field}": ${problem}`);
    this.field = field;
  }
}

/** No live session has this id (it never existed, or it has retired). */
export class UnknownSessionError extends SessionSupervisorError {
  readonly sessionId: string;

  constructor(sessionId: string) {
    super('ERR_UNKNOWN_SESSION', `No live session with id "${sessionId}"`);
    this.sessionId = sessionId;
  }
}

/** A session with this id is already in the pool. */
export class DuplicateSessionError extends SessionSupervisorError {
  readonly sessionId: string;

  constructor(sessionId: string) {
    super('ERR_DUPLICATE_SESSION', `A session with id "${sessionId}" is already in the pool`);
    this.sessionId = sessionId;
  }
}

/** The pool already holds `maxPoolSize` sessions. */
export class PoolFullError extends SessionSupervisorError {
  readonly maxPoolSize: number;

  constructor(maxPoolSize: number) {
    super('ERR_POOL_FULL', `The pool already holds maxPoolSize (${maxPoolSize}) sessions`);
    this.maxPoolSize = maxPoolSize;
  }
}

/** The pool is full and none of its sessions can be handed out now (all are cooling down). */
export class NoUsableSessionError extends SessionSupervisorError {
  constructor(detail: string) {
    super('ERR_NO_USABLE_SESSION', `No usable session: ${detail}`);
  }
}

/** The pool was used before `initialize()` or after `teardown()`. */
export class PoolNotRunningError extends SessionSupervisorError {
  constructor(detail: string) {
    super('ERR_POOL_NOT_RUNNING', `The session pool is not running: ${detail}`);
  }
}

/**
 * A cookie could not be parsed or was refused by the jar (public suffix, foreign domain, too large, a name or value
 * that would break the `Cookie` header, a date that is not a date).
 */
export class InvalidCookieError extends SessionSupervisorError {
  /** The bad field: `cookie` for a whole `Set-Cookie` value, or e.g. `cookies[2].expires` for `setCookies`. */
  readonly field: string;
  readonly url: string;

  constructor(url: string, problem: string, options?: ErrorOptions & { field?: string }) {
    super('ERR_INVALID_COOKIE', `Invalid cookie for ${url}: ${problem}`, options);
    this.url = url;
    this.field = options?.field ?? 'cookie';
  }
}

/**
 * Stored pool state cannot be read: not JSON, truncated, not our format, or a hand-edit broke a field. The pool
 * moves the bad content aside (`movedTo`), never overwriting or deleting it; pass `startFresh: true` to begin
 * empty instead of failing.
 */
export class CorruptStateError extends SessionSupervisorError {
  /** Where the state was read from (a file path, `memory:…`). */
  readonly file: string;
  readonly problem: string;
  /** Where the unreadable content was moved, once it has been. */
  movedTo: string | undefined;

  constructor(file: string, problem: string, options?: ErrorOptions & { code?: string }) {
    super(
      options?.code ?? 'ERR_CORRUPT_STATE',
      `Cannot read session pool state in ${file}: ${problem}`,
      options,
    );
    this.file = file;
    this.problem = problem;
  }

  /** @internal Records where the pool moved the unreadable content. */
  recordMovedTo(movedTo: string | undefined): this {
    if (movedTo === undefined) return this;
    this.movedTo = movedTo;
    this.message += ` (moved aside to ${movedTo})`;
    return this;
  }
}

/** A saved session has a missing or invalid field (e.g. a hand-edited state file). */
export class InvalidSavedSessionError extends CorruptStateError {
  readonly sessionId: string;
  /** The bad field of the saved session, e.g. `usageCount` or `cookieJar.cookies[2]`. */
  readonly field: string;

  constructor(file: string, sessionId: string, field: string, problem: string) {
    super(file, `session "${sessionId}", field "${field}": ${problem}`, {
      code: 'ERR_INVALID_SAVED_SESSION',
    });
    this.sessionId = sessionId;
    this.field = field;
  }
}

/** The stored state was written by a newer release (a larger `version`); it is left untouched. */
export class UnsupportedStateVersionError extends SessionSupervisorError {
  readonly file: string;
  readonly version: number;
  readonly supportedVersion: number;

  constructor(file: string, version: number, supportedVersion: number) {
    super(
      'ERR_UNSUPPORTED_STATE_VERSION',
      `Session pool state in ${file} has version ${version}; this release reads version ${supportedVersion} ` +
        'and older. Upgrade session-supervisor, or pass startFresh: true to move it aside and begin empty',
    );
    this.file = file;
    this.version = version;
    this.supportedVersion = supportedVersion;
  }
}

/** Another live pool (in this or another process) holds the store's lock. */
export class StateLockedError extends SessionSupervisorError {
  readonly file: string;
  /** Process id of the holder, when known. */
  readonly ownerPid: number | undefined;

  constructor(file: string, detail: string, ownerPid?: number) {
    super('ERR_STATE_LOCKED', `Session pool state in ${file} is in use: ${detail}`);
    this.file = file;
    this.ownerPid = ownerPid;
  }
}

/** Writing the pool's state failed; the previous good state is kept and the next write retries. */
export class PersistWriteError extends SessionSupervisorError {
  readonly file: string;
  /** Set when one session could not be serialized (e.g. a BigInt or a cycle in its `userData`). */
  readonly sessionId: string | undefined;

  constructor(file: string, detail: string, options?: ErrorOptions & { sessionId?: string }) {
    super('ERR_PERSIST_WRITE', `Could not persist session pool state to ${file}: ${detail}`, options);
    this.file = file;
    this.sessionId = options?.sessionId;
  }
}

/** One try of a `pool.fetch`: which session, what came of it. Never carries proxy credentials. */
export interface FetchAttemptSummary {
  sessionId: string;
  /** `blocked`, `coolDown`, `bad` (5xx, network error, timeout, redirect loop) or `checkFailed`. */
  outcome: string;
  statusCode?: number;
  /** The error code or message of a failed try (e.g. `ERR_REQUEST_TIMEOUT`). */
  error?: string;
}

/** A request took longer than its `timeoutMs` (`requestTimeoutMs`). */
export class RequestTimeoutError extends SessionSupervisorError {
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number) {
    super('ERR_REQUEST_TIMEOUT', `Request to ${url} timed out after ${timeoutMs} ms`);
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection failed (refused, reset, closed mid-body, proxy refused, bad TLS). Proxy credentials are redacted. */
export class RequestFailedError extends SessionSupervisorError {
  readonly url: string;
  /** The underlying error's code, e.g. `ECONNREFUSED` or `UND_ERR_SOCKET`. */
  readonly causeCode: string | undefined;

  constructor(url: string, detail: string, causeCode: string | undefined, options?: ErrorOptions) {
    super('ERR_REQUEST_FAILED', `Request to ${url} failed: ${detail}`, options);
    this.url = url;
    this.causeCode = causeCode;
  }
}

/** The response body is larger than `maxBodyBytes`. */
export class ResponseTooLargeError extends SessionSupervisorError {
  readonly field = 'maxBodyBytes';
  readonly url: string;
  readonly maxBodyBytes: number;

  constructor(url: string, maxBodyBytes: number) {
    super('ERR_RESPONSE_TOO_LARGE', `Response from ${url} is larger than maxBodyBytes (${maxBodyBytes})`);
    this.url = url;
    this.maxBodyBytes = maxBodyBytes;
  }
}

/** A redirect loop, or more redirects than `maxRedirections`. */
export class TooManyRedirectsError extends SessionSupervisorError {
  readonly url: string;
  readonly maxRedirections: number;

  constructor(url: string, maxRedirections: number, detail = `more than ${maxRedirections} redirects`) {
    super('ERR_TOO_MANY_REDIRECTS', `Request to ${url} was redirected too often: ${detail}`);
    this.url = url;
    this.maxRedirections = maxRedirections;
  }
}

/** A request pinned to one session got a blocked status code; the session retired. */
export class SessionBlockedError extends SessionSupervisorError {
  readonly sessionId: string;
  readonly statusCode: number;
  readonly url: string;

  constructor(sessionId: string, statusCode: number, url: string) {
    super('ERR_SESSION_BLOCKED', `Session "${sessionId}" was blocked (status ${statusCode}) by ${url}`);
    this.sessionId = sessionId;
    this.statusCode = statusCode;
    this.url = url;
  }
}

/** `pool.fetch` gave up: every session it tried was blocked or failed. `attempts` lists each try. */
export class SessionRotationsExhaustedError extends SessionSupervisorError {
  readonly url: string;
  readonly attempts: readonly FetchAttemptSummary[];

  constructor(url: string, attempts: readonly FetchAttemptSummary[], options?: ErrorOptions) {
    const tries = attempts
      .map(
        (a) =>
          `${a.sessionId}: ${a.outcome}${a.statusCode ? ` ${a.statusCode}` : ''}${a.error ? ` (${a.error})` : ''}`,
      )
      .join('; ');
    super(
      'ERR_SESSION_ROTATIONS_EXHAUSTED',
      `Request to ${url} failed after ${attempts.length} attempt(s): ${tries}`,
      options,
    );
    this.url = url;
    this.attempts = attempts;
  }
}

/** `initSession` threw or returned `false` for this session; it retired with reason `initFailed`. */
export class SessionInitError extends SessionSupervisorError {
  readonly sessionId: string;

  constructor(sessionId: string, detail: string, options?: ErrorOptions) {
    super('ERR_SESSION_INIT_FAILED', `initSession failed for session "${sessionId}": ${detail}`, options);
    this.sessionId = sessionId;
  }
}

/** `maxBadInits` initializations failed in a row: the pool stopped handing out sessions. */
export class TooManyBadInitsError extends SessionSupervisorError {
  readonly field = 'maxBadInits';
  readonly maxBadInits: number;

  constructor(maxBadInits: number, options?: ErrorOptions) {
    super(
      'ERR_TOO_MANY_BAD_INITS',
      `initSession failed ${maxBadInits} times in a row (maxBadInits); the pool hands out no more sessions`,
      options,
    );
    this.maxBadInits = maxBadInits;
  }
}

/** The inspector relay could not start (e.g. its port is taken) or the inspector did not connect to it in time. */
export class InspectorStartError extends SessionSupervisorError {
  constructor(detail: string, options?: ErrorOptions) {
    super('ERR_INSPECTOR_START', `Could not start the inspector: ${detail}`, options);
  }
}

/** Redis could not be reached when a Redis store or fleet opened (refused, timed out, auth failed). */
export class RedisUnavailableError extends SessionSupervisorError {
  readonly field = 'redisUrl';
  /** The Redis URL with its password redacted. */
  readonly url: string;

  constructor(url: string, detail: string, options?: ErrorOptions) {
    super('ERR_REDIS_UNAVAILABLE', `Cannot reach Redis at ${url}: ${detail}`, options);
    this.url = url;
  }
}
