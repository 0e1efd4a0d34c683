import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, note, report, write } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { toRecord, valueForOutput } from '../values.js';

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('print the value of a key (exit 1 if it is not there); --encoding binary writes the raw bytes')
    .argument('<dir>', 'store directory')
    .argument('<key>', 'key')
    .action(
      handled(async (dir: string, key: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        return withStore(dir, context, { create: false }, async (store) => {
          const value = store.get(key);
          if (value === undefined) {
            if (context.json) await report(context, { key, found: false }, undefined);
            else note(`durable-kv get: key not found: ${key}`);
            return exitCodes.failure;
          }
          if (!context.json) {
            await write(process.stdout, valueForOutput(value, context.encoding));
            return exitCodes.ok;
          }
          const { value: shown, encoding } = toRecord(key, value, context.encoding);
          await report(context, { key, found: true, value: shown, ...(encoding === undefined ? {} : { encoding }) }, undefined);
          return exitCodes.ok;
        });
      }),
    );
}
