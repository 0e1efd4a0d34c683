/**
 * Runs abstract-level's own test suite (node_modules/abstract-level/test) with tape against
 * DurableLevel, each database in a fresh directory on the real file system. Run by
 * test/level/abstract-suite.test.ts (vitest) as a child process; by hand: `npx tsx test/level/abstract-suite.mts`.
 * Prints TAP; exits non-zero when any assertion fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import tape from 'tape';
import { DurableLevel } from '../../src/level/index.js';

const require = createRequire(import.meta.url);
const suite = require('abstract-level/test') as (options: { test: typeof tape; factory: (options?: object) => unknown }) => void;

const root = mkdtempSync(path.join(os.tmpdir(), 'durable-level-suite-'));
let databases = 0;

suite({
  test: tape,
  factory: (options?: object) => new DurableLevel(path.join(root, `db-${++databases}`), options),
});

tape.onFinish(() => rmSync(root, { recursive: true, force: true }));
