import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, formatBytes, report } from '../context.js';
import { withStore } from '../open-store.js';

export function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('write a snapshot of the whole store and delete the WAL segments it covers')
    .argument('<dir>', 'store directory')
    .action(
      handled(async (dir: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        await withStore(dir, context, { create: false }, async (store) => {
          const result = await store.snapshot();
          const human = `snapshot at seq ${result.seq}: ${result.keys} keys, ${formatBytes(result.bytes)}, ${result.durationMs.toFixed(1)} ms`;
          await report(context, result, human);
        });
      }),
    );
}
