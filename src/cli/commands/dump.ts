import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, write, type CliContext } from '../context.js';
import { requireStore, ReadCountingFileSystem } from '../open-store.js';
import { startProgress } from '../progress.js';
import { totalBytes } from '../inspect.js';
import { toRecord } from '../values.js';
import { rangeOptionsOf } from '../../format/range-spec.js';
import { dumpWal, walDumpEvents } from '../../dump.js';
import { NodeFileSystem } from '../../fs/node-file-system.js';
import { classifyDirectory } from '../../format/file-names.js';
import type { FileSystem } from '../../fs/file-system.js';

export function registerDump(program: Command): void {
  program
    .command('dump')
    .description(
      'print every WAL operation, one per line: PUT, DELETE, EXPIRED, EXPIRE, DELETE_RANGE (--json: JSON Lines); reads only, takes no lock',
    )
    .argument('<dir>', 'store directory')
    .addHelpText(
      'after',
      "\nOne line per operation (a batch's operations share its seq; expiresAt is epoch ms):\n" +
        '  PUT|seq|key|value             a put; an increment is logged as the put of its result\n' +
        '  PUT|seq|key|value|expiresAt   a put that sets an expiry\n' +
        '  DELETE|seq|key                a delete\n' +
        '  EXPIRED|seq|key               a delete by active expiry (--json: {"op":"delete",…,"expired":true})\n' +
        '  EXPIRE|seq|key|expiresAt      a new expiry for a key, 0 if removed (--json: {"op":"expire",…}, null if removed)\n' +
        '  DELETE_RANGE|seq|{range}      a range delete, its range as JSON\n' +
        'In a field, \\ | newline CR tab are written \\\\ \\| \\n \\r \\t, other control characters and bytes that are\n' +
        'not UTF-8 as \\xNN. Damage ends a segment\'s lines with a "# file at byte N: reason" line.',
    )
    .action(
      handled(async (dir: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        const names = await requireStore(dir);
        const segments = classifyDirectory(names).segments.map((segment) => segment.name);
        const progress = startProgress(context, {
          label: 'dump',
          total: context.showProgress ? await totalBytes(dir, segments) : 0,
          unit: 'bytes',
        });
        // Segments are read whole, one at a time: counting the bytes read moves the bar a segment at a time.
        const fs = new ReadCountingFileSystem(new NodeFileSystem(), (bytes) => progress.increment(bytes));
        try {
          const lines = context.json ? jsonLines(dir, fs, context) : dumpWal(dir, { fs });
          for await (const line of lines) await write(process.stdout, `${line}\n`);
        } finally {
          progress.stop();
        }
      }),
    );
}

/** The same walk as `dumpWal`, as JSON objects: values per --encoding, damage as `{"op":"damage",…}`. */
async function* jsonLines(dir: string, fs: FileSystem, context: CliContext): AsyncGenerator<string> {
  for await (const event of walDumpEvents(dir, fs)) {
    if (event.type === 'damage') {
      yield JSON.stringify({ op: 'damage', file: event.file, offset: event.offset, reason: event.reason });
      continue;
    }
    const { record } = event;
    for (const op of record.ops) {
      const { seq } = record;
      if (op.type === 'delete')
        yield JSON.stringify(op.expired ? { op: 'delete', seq, key: op.key, expired: true } : { op: 'delete', seq, key: op.key });
      else if (op.type === 'deleteRange') yield JSON.stringify({ op: 'deleteRange', seq, range: rangeOptionsOf(op.range) });
      else if (op.type === 'expire')
        yield JSON.stringify({ op: 'expire', seq, key: op.key, expiresAt: op.expiresAt === 0 ? null : op.expiresAt });
      else {
        const expiry = op.expiresAt === 0 ? {} : { expiresAt: op.expiresAt };
        yield JSON.stringify({ op: 'put', seq, ...toRecord(op.key, decode(op.value, context), context.encoding), ...expiry });
      }
    }
  }
}

function decode(value: Buffer, context: CliContext): unknown {
  if (context.encoding === 'binary') return value;
  const text = value.toString('utf8');
  if (context.encoding === 'utf8') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // a value that is not JSON still dumps, as its text
  }
}
