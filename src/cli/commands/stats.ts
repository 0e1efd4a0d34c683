import path from 'node:path';
import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, formatBytes, report } from '../context.js';
import { withStore } from '../open-store.js';

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('show the number of keys, the log position, WAL size and what recovery did on open')
    .argument('<dir>', 'store directory')
    .action(
      handled(async (dir: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        await withStore(dir, context, { create: false }, async (store) => {
          const stats = store.stats();
          const recovery = store.recoveryReport;
          const human = [
            `store        ${path.resolve(dir)}`,
            `keys         ${stats.keys}`,
            `last seq     ${stats.lastSeq}`,
            `snapshot     ${recovery.snapshot ? `${recovery.snapshot.file} (seq ${stats.snapshotSeq}, ${recovery.snapshot.entries} entries)` : 'none'}`,
            `wal          ${stats.walSegments} segment${stats.walSegments === 1 ? '' : 's'}, ${formatBytes(stats.walBytes)}`,
            `recovery     ${recovery.recordsReplayed} records replayed from ${recovery.segmentsRead} segment${recovery.segmentsRead === 1 ? '' : 's'}, ${formatBytes(recovery.bytesRead)} read in ${recovery.durationMs.toFixed(1)} ms`,
            ...(recovery.tornTail
              ? [
                  `torn tail    cut ${recovery.tornTail.droppedBytes} bytes at byte ${recovery.tornTail.offset} of ${recovery.tornTail.file}`,
                ]
              : []),
            ...(recovery.unknownFiles.length > 0 ? [`other files  ${recovery.unknownFiles.join(', ')} (left alone)`] : []),
          ].join('\n');
          await report(context, { dir: path.resolve(dir), ...stats, recovery }, human);
        });
      }),
    );
}
