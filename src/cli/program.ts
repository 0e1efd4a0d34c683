import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { exitCodesHelp } from './exit-codes.js';
import { registerGet } from './commands/get.js';
import { registerPut } from './commands/put.js';
import { registerDelete } from './commands/delete.js';
import { registerStats } from './commands/stats.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerDump } from './commands/dump.js';
import { registerVerify } from './commands/verify.js';
import { registerRepair } from './commands/repair.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerScan } from './commands/scan.js';
import { registerTtl } from './commands/ttl.js';
import { registerServe } from './commands/serve.js';

// src/cli/ and dist/cli/ both sit two levels below the package root.
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** The `durable-kv` command and its subcommands. */
export function createProgram(): Command {
  const program = new Command('durable-kv')
    .description('Inspect, query, verify, repair, export, import and serve (Redis protocol) a durable-kv store directory.')
    .version(version)
    .option('--json', 'machine-readable output: one JSON document (or JSON Lines) on stdout, errors as JSON on stderr')
    .addOption(new Option('--encoding <encoding>', 'how values are read and written').choices(['utf8', 'json', 'binary']).default('utf8'))
    .option('--no-progress', 'never draw a progress bar (one is drawn only when stderr is a terminal)')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(run durable-kv --help for usage)')
    .addHelpText('after', exitCodesHelp)
    // Usage errors are thrown, not exited on, so main() can give them exit code 2; subcommands made
    // by .command() after this inherit it.
    .exitOverride();
  for (const register of [
    registerGet,
    registerTtl,
    registerPut,
    registerDelete,
    registerStats,
    registerSnapshot,
    registerDump,
    registerVerify,
    registerRepair,
    registerExport,
    registerImport,
    registerScan,
    registerServe,
  ]) {
    register(program);
  }
  return program;
}
