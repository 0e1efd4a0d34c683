import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, note, report, write } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { toRecord, valueForOutput } from '../values.js';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description(
      'print the value of a key (exit 1 if it is not there); --encoding binary writes the raw bytes; --json adds version and expiresAt',
    )
    .argument('<dir>', 'store directory')
    .argument('<key>', 'key')
    .action(
      handled(async (dir: string, key: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        return withStore(dir, context, { create: false }, async (store) => {
          const entry = store.getEntry(key);
          if (entry === undefined) {
            if (context.json) await report(context, { key, found: false }, undefined);
            else note(`durable-kv get: key not found: ${key}`);
            return exitCodes.failure;
          }
          if (!context.json) {
            await write(process.stdout, valueForOutput(entry.value, context.encoding));
            return exitCodes.ok;
          }
          const { value: shown, encoding } = toRecord(key, entry.value, context.encoding);
          const { version, expiresAt } = entry;
          await report(
            context,
            { key, found: true, value: shown, ...(encoding === undefined ? {} : { encoding }), version, expiresAt },
            undefined,
          );
          return exitCodes.ok;
        });
      }),
    );
}
