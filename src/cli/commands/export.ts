import { open } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, note, report, write } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { startProgress } from '../progress.js';
import { toRecord } from '../values.js';
import type { DurableKVStore } from '../../store.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'write every key and value as JSON Lines, {"key":…,"value":…} (binary: base64 with "encoding":"base64"; "expiresAt" in epoch ms for a key that expires)',
    )
    .argument('<dir>', 'store directory')
    .argument('[file]', 'output file (replaced if it exists); stdout if omitted')
    .action(
      handled(async (dir: string, file: string | undefined, _options: unknown, command: Command) => {
        const context = contextOf(command);
        await withStore(dir, context, { create: false }, async (store) => {
          // Opened before any work, so a path that cannot be written fails at once, with its own error.
          const output = file === undefined ? process.stdout : (await open(file, 'w')).createWriteStream();
          if (output !== process.stdout) output.on('error', () => {}); // surfaced by finished() below
          const progress = startProgress(context, { label: 'export', total: store.size, unit: 'records' });
          let exported: number;
          try {
            exported = await exportTo(store, output, (count) => progress.update(count), context.encoding);
            if (output !== process.stdout) {
              output.end();
              await finished(output);
            }
          } catch (error) {
            if (output !== process.stdout) output.destroy();
            throw error;
          } finally {
            progress.stop();
          }
          // On stdout the lines are the output; a summary would mix into them.
          if (file !== undefined) await report(context, { exported, file }, `exported ${exported} records to ${file}`);
        });
      }),
    );
}

async function exportTo(
  store: DurableKVStore<unknown>,
  output: Writable,
  onCount: (count: number) => void,
  encoding: 'utf8' | 'json' | 'binary',
): Promise<number> {
  let count = 0;
  let warned = false;
  const entries = store.entries();
  for (;;) {
    let next: IteratorResult<[string, unknown]>;
    try {
      next = entries.next();
    } catch (error) {
      // With --encoding json, a stored value that is not JSON fails to parse.
      throw new CliError(
        `a value after ${count} exported records cannot be read as ${encoding}: ${(error as Error).message}; try --encoding utf8`,
        exitCodes.failure,
        'ERR_ENCODING',
      );
    }
    if (next.done === true) return count;
    const [key, value] = next.value;
    if (encoding === 'utf8' && !warned && typeof value === 'string' && value.includes('\uFFFD')) {
      warned = true;
      note(
        'durable-kv export: a value holds U+FFFD, which is what bytes that are not UTF-8 read as; if the store holds binary values, export with --encoding binary',
      );
    }
    // The expiry goes with the key: an export and import must not make a session permanent.
    const expiresAt = store.getEntry(key)?.expiresAt ?? null;
    const record = toRecord(key, value, encoding);
    await write(output, `${JSON.stringify(expiresAt === null ? record : { ...record, expiresAt })}\n`);
    if (++count % 1000 === 0) onCount(count);
  }
}
