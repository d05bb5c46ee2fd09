/**
 * Runs once per `vitest run`, before any test file: compiles the repository for the child processes the tests
 * start (see `test/compiled.ts`), and removes it afterwards. One directory per run, so two runs at once do not
 * overwrite each other's output.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { compileRepository, REPO_ROOT } from './compiled.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = join(REPO_ROOT, 'node_modules', '.cache', 'session-supervisor-tests', `run-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await compileRepository(root);
  project.provide('compiledRoot', root);
  return () => rm(root, { recursive: true, force: true });
}
