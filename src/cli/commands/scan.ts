import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, write } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { toRecord } from '../values.js';
import { escapeField } from '../../dump.js';
import type { RangeOptions } from '../../store.js';

interface ScanFlags {
  prefix?: string;
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: string;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('print the keys and values in a range, in key order (UTF-8 bytes): one "key<TAB>value" line each, escaped as dump does')
    .argument('<dir>', 'store directory')
    .option('--prefix <p>', 'only keys that start with p')
    .option('--gt <key>', 'keys after key')
    .option('--gte <key>', 'keys from key on')
    .option('--lt <key>', 'keys before key')
    .option('--lte <key>', 'keys up to key')
    .option('--reverse', 'from the last key down')
    .option('--limit <n>', 'at most n entries')
    .action(
      handled(async (dir: string, flags: ScanFlags, command: Command) => {
        const context = contextOf(command);
        const range = rangeOf(flags);
        return withStore(dir, context, { create: false }, async (store) => {
          // Checked (ERR_INVALID_ARG) and pinned at the call: what is printed is the store as it was.
          for (const [key, value] of store.range(range)) {
            const line = context.json
              ? JSON.stringify(toRecord(key, value, context.encoding))
              : `${escapeField(Buffer.from(key, 'utf8'))}\t${escapeField(valueBytes(value, context.encoding))}`;
            await write(process.stdout, `${line}\n`);
          }
          return exitCodes.ok;
        });
      }),
    );
}

function rangeOf(flags: ScanFlags): RangeOptions {
  const { limit, ...rest } = flags;
  const range: RangeOptions = { ...rest };
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || !Number.isSafeInteger(Number(limit))) {
      throw new CliError(`--limit must be a non-negative integer, got ${limit}`, exitCodes.usage, 'ERR_INVALID_ARG');
    }
    range.limit = Number(limit);
  }
  return range;
}

/** A value's bytes as stored: the string (utf8), its JSON (json) or the bytes themselves (binary). */
function valueBytes(value: unknown, encoding: 'utf8' | 'json' | 'binary'): Buffer {
  if (encoding === 'binary') return Buffer.from(value as Uint8Array);
  return Buffer.from(encoding === 'json' ? JSON.stringify(value) : String(value), 'utf8');
}
