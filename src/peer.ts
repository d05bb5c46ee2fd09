/**
 * Loading the optional peer dependencies behind the subpath entry points (`session-supervisor/redis` needs
 * `ioredis`, …). A static `import` of a missing package fails while Node links the module graph, before any of
 * our code runs, with an error that names the importing file and not what to install; loading the peer with a
 * synchronous `require` from the module that needs it lets us throw an error that says which package to add.
 * `require` works for ESM-only peers too on the Node versions we support (>= 20.19), and keeps our entry points
 * free of top-level `await`, so `require('session-supervisor/…')` keeps working.
 */
import { createRequire } from 'node:module';
import { SessionSupervisorError } from './errors.js';

const requireFromHere = createRequire(import.meta.url);

/** A subpath entry point was loaded without the optional peer dependency it needs. */
export class MissingPeerDependencyError extends SessionSupervisorError {
  /** The package to install, e.g. `ioredis`. */
  readonly packageName: string;
  /** The entry point that needs it, e.g. `session-supervisor/redis`. */
  readonly entryPoint: string;

  constructor(packageName: string, entryPoint: string, options?: ErrorOptions) {
    super(
      'ERR_MISSING_PEER_DEPENDENCY',
      `${entryPoint} needs the optional peer dependency "${packageName}": install it with \`npm install ${packageName}\``,
      options,
    );
    this.packageName = packageName;
    this.entryPoint = entryPoint;
  }
}

function isNotFound(error: unknown, packageName: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  // A peer that is installed but misses one of its own dependencies is a different problem: let that error through.
  return typeof message === 'string' && message.includes(`'${packageName}'`);
}

/** Loads `packageName` (resolved as the user's code would) or throws `MissingPeerDependencyError`. */
export function loadPeer<T>(packageName: string, entryPoint: string): T {
  try {
    return requireFromHere(packageName) as T;
  } catch (error) {
    if (isNotFound(error, packageName))
      throw new MissingPeerDependencyError(packageName, entryPoint, { cause: error });
    throw error;
  }
}

/** Throws `MissingPeerDependencyError` unless `packageName` can be resolved; loads nothing. */
export function assertPeer(packageName: string, entryPoint: string): void {
  try {
    requireFromHere.resolve(packageName);
  } catch (error) {
    if (isNotFound(error, packageName))
      throw new MissingPeerDependencyError(packageName, entryPoint, { cause: error });
    throw error;
  }
}
