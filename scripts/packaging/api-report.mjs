#!/usr/bin/env node
/**
 * API reports (api-extractor) of every entry point in package.json's `exports`, in etc/api/<entry>.api.md, so
 * that a change of the public surface shows up as a diff in review.
 *
 *   node scripts/packaging/api-report.mjs            check: fails if a report is out of date (CI, `npm run api:check`)
 *   node scripts/packaging/api-report.mjs --update   rewrite the reports (`npm run api:update`)
 *
 * Reads the declarations in dist/ (run `npm run build` first; the npm scripts do).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { Extractor, ExtractorConfig } = require('@microsoft/api-extractor');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const update = process.argv.includes('--update');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const reportFolder = join(root, 'etc/api');
const tempFolder = join(tmpdir(), 'session-supervisor-api-report');
mkdirSync(reportFolder, { recursive: true });
mkdirSync(tempFolder, { recursive: true });

/** `.` → `session-supervisor`, `./redis` → `session-supervisor-redis`. */
function reportName(subpath) {
  return subpath === '.' ? pkg.name : `${pkg.name}-${subpath.slice(2).replaceAll('/', '-')}`;
}

// Shown in the report (so a reviewer sees them), never fatal: the report's diff is what CI checks.
// Messages stay out of the reports: they carry source line numbers, so any edit above a warning would show up as
// an API change. The reports hold the public surface only.
const inReport = { logLevel: 'none', addToApiReportFile: false };
const messages = {
  compilerMessageReporting: { default: { logLevel: 'error' } },
  extractorMessageReporting: {
    default: inReport,
    'ae-missing-release-tag': { logLevel: 'none' },
    'ae-undocumented': { logLevel: 'none' },
    'ae-wrong-input-file-type': { logLevel: 'error' },
  },
  tsdocMessageReporting: { default: inReport },
};

let failed = 0;
const entries = Object.entries(pkg.exports).filter(
  ([subpath, target]) => subpath !== './package.json' && target.types,
);
for (const [subpath, target] of entries) {
  const name = reportName(subpath);
  const dts = join(root, target.types);
  if (!existsSync(dts)) {
    console.error(
      `✗ ${subpath}: ${target.types} does not exist (run npm run build; is src/ missing the entry?)`,
    );
    failed += 1;
    continue;
  }
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: dts,
      bundledPackages: [],
      newlineKind: 'lf',
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2023'],
            types: ['node'],
            strict: true,
            skipLibCheck: true,
          },
          files: [dts],
        },
      },
      apiReport: {
        enabled: true,
        reportFileName: name,
        reportFolder,
        reportTempFolder: tempFolder,
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages,
    },
    configObjectFullPath: join(root, 'scripts/packaging/api-extractor.json'),
    packageJsonFullPath: join(root, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (message) => {
      // One line per entry point is enough; api-extractor's own banner and notes are noise here.
      if (message.logLevel === 'info' || message.logLevel === 'verbose') message.handled = true;
    },
  });
  const file = `etc/api/${name}.api.md`;
  if (!result.succeeded || (!update && result.apiReportChanged)) {
    failed += 1;
    console.error(
      result.apiReportChanged
        ? `✗ ${subpath}: the public API changed; review it, then run npm run api:update and commit ${file}`
        : `✗ ${subpath}: api-extractor failed (${result.errorCount} errors)`,
    );
    // Show what changed, so the CI log is enough to review it.
    if (result.apiReportChanged) {
      spawnSync('diff', ['-u', join(reportFolder, `${name}.api.md`), join(tempFolder, `${name}.api.md`)], {
        stdio: 'inherit',
      });
    }
  } else {
    console.log(`✓ ${subpath}: ${update && result.apiReportChanged ? 'updated' : 'unchanged'} ${file}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
