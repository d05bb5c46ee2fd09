#!/usr/bin/env node
/**
 * The `session-supervisor` command. `npm start` runs `session-supervisor demo`.
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, UsageError } from './args.js';
import type { ProgressOutput } from './progress.js';

/** An output of the CLI: a terminal, a pipe or a file (process.stdout), or anything with `write`. */
export interface CliOutput extends ProgressOutput {
  /** Where a stream reports a reader that went away (EPIPE). */
  on?(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/** What the CLI talks to: the process by default; tests run the same code in-process with their own. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  /** Calls `listener` on every interrupt (Ctrl-C, SIGTERM); returns a function that stops listening. */
  onInterrupt(listener: () => void): () => void;
  /** Ends at once with `code` (a second Ctrl-C does not wait for the state to be saved). */
  exit(code: number): void;
}

/** The process's own streams, signals and exit. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    onInterrupt(listener) {
      process.on('SIGINT', listener);
      process.on('SIGTERM', listener);
      return () => {
        process.off('SIGINT', listener);
        process.off('SIGTERM', listener);
      };
    },
    exit: (code) => process.exit(code),
  };
}

function version(): string {
  // src/cli and dist/src/cli both sit two or three levels below package.json.
  for (const relative of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(relative, import.meta.url)), 'utf8'));
      if (pkg.name === 'session-supervisor') return String(pkg.version);
    } catch {
      // try the next candidate
    }
  }
  return 'unknown';
}

/** Runs the CLI with `argv` (without node and the script) and resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command: ReturnType<typeof parseArgs>;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`session-supervisor: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.name === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.name === 'version') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      io.stderr.write('\nsession-supervisor: second interrupt, exiting now\n');
      io.exit(130);
      return;
    }
    io.stderr.write('\nsession-supervisor: stopping (saving the pool state; Ctrl-C again to quit now)\n');
    controller.abort();
  };
  const stopListening = io.onInterrupt(onSignal);
  // A reader that goes away (`| head`) ends the crawl like Ctrl-C does, state saved, instead of crashing it.
  let outputClosed = false;
  let outputFailed = false;
  const onOutputError = (error: NodeJS.ErrnoException) => {
    outputClosed = true;
    if (error.code !== 'EPIPE') outputFailed = true;
    controller.abort();
  };
  io.stdout.on?.('error', onOutputError);
  io.stderr.on?.('error', onOutputError);
  const guarded = (stream: CliOutput) => ({
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    write: (text: string) => (outputClosed ? false : stream.write(text)),
  });
  try {
    // Loaded on demand: `--help` and usage errors answer without loading the pool, undici and the inspector.
    const { runDemo } = await import('./demo.js');
    const code = await runDemo(command.args, {
      stdout: guarded(io.stdout),
      stderr: guarded(io.stderr),
      signal: controller.signal,
    });
    // An output that failed (not a reader gone away) is a failure, whatever the crawl's own outcome.
    return outputFailed ? 1 : code;
  } catch (error) {
    io.stderr.write(`session-supervisor: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    stopListening();
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    // npm's bin links are symlinks: compare real paths.
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(
        `session-supervisor: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
