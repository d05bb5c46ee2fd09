#!/usr/bin/env node
/**
 * The `session-supervisor` command. `npm start` runs `session-supervisor demo`.
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, UsageError } from './args.js';

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
export async function main(argv: readonly string[]): Promise<number> {
  let command: ReturnType<typeof parseArgs>;
  try {
    command = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`session-supervisor: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (command.name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.name === 'version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      process.stderr.write('\nsession-supervisor: second interrupt, exiting now\n');
      process.exit(130);
    }
    process.stderr.write(
      '\nsession-supervisor: stopping (saving the pool state; Ctrl-C again to quit now)\n',
    );
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A reader that goes away (`| head`) ends the crawl like Ctrl-C does, state saved, instead of crashing it.
  let outputClosed = false;
  const onOutputError = (error: NodeJS.ErrnoException) => {
    outputClosed = true;
    if (error.code !== 'EPIPE') process.exitCode = 1;
    controller.abort();
  };
  process.stdout.on('error', onOutputError);
  process.stderr.on('error', onOutputError);
  const guarded = (stream: NodeJS.WriteStream) => ({
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
    return await runDemo(command.args, {
      stdout: guarded(process.stdout),
      stderr: guarded(process.stderr),
      signal: controller.signal,
    });
  } catch (error) {
    process.stderr.write(`session-supervisor: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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
