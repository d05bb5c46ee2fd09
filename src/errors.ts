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

/** A cookie could not be parsed or was refused by the jar (public suffix, foreign domain, too large). */
export class InvalidCookieError extends SessionSupervisorError {
  readonly field = 'cookie';
  readonly url: string;

  constructor(url: string, problem: string, options?: ErrorOptions) {
    super('ERR_INVALID_COOKIE', `Invalid cookie for ${url}: ${problem}`, options);
    this.url = url;
  }
}
