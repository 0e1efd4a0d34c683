import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, report } from '../context.js';
import { withStore } from '../open-store.js';

export function registerDelete(program: Command): void {
  program
    .command('delete')
    .description('delete a key (deleting a missing key is not an error)')
    .argument('<dir>', 'store directory')
    .argument('<key>', 'key')
    .action(
      handled(async (dir: string, key: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        await withStore(dir, context, { create: false }, async (store) => {
          const existed = store.has(key);
          await store.delete(key);
          await report(context, { ok: true, op: 'delete', key, existed, seq: store.stats().lastSeq }, undefined);
        });
      }),
    );
}
