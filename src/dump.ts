import type { FileSystem } from './fs/file-system.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { parseWalRecord, type DecodedOp, type WalRecord } from './format/wal-format.js';
import { readWalSteps, type WalReporter } from './format/wal-reader.js';
import { assert } from './errors.js';
import { rangeOptionsOf } from './format/range-spec.js';

/** One event of a WAL dump: a decoded record, or damage that ends a segment's records. */
export type WalDumpEvent = { type: 'record'; record: WalRecord } | { type: 'damage'; file: string; offset: number; reason: string };

/**
 * The WAL as text, for people, one line per operation (the operations of a batch share its seq):
 * `PUT|seq|key|value`, with `|expiresAt` (epoch ms) after the value when the put sets an expiry;
 * `DELETE|seq|key`; `EXPIRED|seq|key` (a delete by active expiry); `EXPIRE|seq|key|expiresAt` (0:
 * the expiry removed); `DELETE_RANGE|seq|{range as JSON}`. Reads only; never the storage format.
 *
 * Escaping keeps one operation per line and the fields splittable on `|`: backslash, `|`, newline,
 * carriage return and tab are escaped as `\\`, `\|`, `\n`, `\r`, `\t`; other control characters as
 * `\xNN`; bytes that are not valid UTF-8 as `\xNN` too. Damage ends a segment's dump with a `#` line.
 */
export async function* dumpWal(dir: string, options: { fs?: FileSystem } = {}): AsyncGenerator<string> {
  for await (const event of walDumpEvents(dir, options.fs ?? new NodeFileSystem())) {
    if (event.type === 'damage') {
      yield event.offset === 0 ? `# ${event.file}: ${event.reason}` : `# ${event.file} at byte ${event.offset}: ${event.reason}`;
      continue;
    }
    const { record } = event;
    for (const op of record.ops) yield dumpLine(record.seq, op);
  }
}

function dumpLine(seq: number, op: DecodedOp): string {
  if (op.type === 'deleteRange') return `DELETE_RANGE|${seq}|${escapeField(Buffer.from(JSON.stringify(rangeOptionsOf(op.range)), 'utf8'))}`;
  const key = escapeField(Buffer.from(op.key, 'utf8'));
  switch (op.type) {
    case 'put':
      return `PUT|${seq}|${key}|${escapeField(op.value)}${op.expiresAt === 0 ? '' : `|${op.expiresAt}`}`;
    case 'delete':
      return `${op.expired ? 'EXPIRED' : 'DELETE'}|${seq}|${key}`;
    case 'expire':
      return `EXPIRE|${seq}|${key}|${op.expiresAt}`;
  }
}

/**
 * Every record of every segment, decoded, and the damage that ends a segment's records (a bad header
 * at offset 0). A segment's events are yielded once the reader has read it, before the next one.
 */
export async function* walDumpEvents(dir: string, fs: FileSystem): AsyncGenerator<WalDumpEvent> {
  const events: WalDumpEvent[] = [];
  const reporter: WalReporter = {
    headerProblem: (segment, _bytes, reason) => void events.push({ type: 'damage', file: segment.name, offset: 0, reason }),
    record: (bytes, span) => {
      const parsed = parseWalRecord(bytes, span.offset);
      assert(parsed.ok, 'a walked record parses');
      events.push({ type: 'record', record: parsed.record });
    },
    segmentEnd: (segment, _bytes, walk) => {
      if (walk.damage !== undefined)
        events.push({ type: 'damage', file: segment.name, offset: walk.damage.offset, reason: walk.damage.reason });
    },
  };
  for await (const _segment of readWalSteps({ fs, dir }, reporter)) yield* events.splice(0);
}

const escapes: Record<string, string> = { '\\': '\\\\', '|': '\\|', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function escapeField(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; if the round trip differs, fall back to escaping every byte.
  const exact = Buffer.from(text, 'utf8').equals(bytes);
  if (!exact)
    return Array.from(bytes, (byte) =>
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x7c ? String.fromCharCode(byte) : hexEscape(byte),
    ).join('');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters to escape is this regex's purpose
  return text.replace(/[\\|\n\r\t]|[\x00-\x1f\x7f]/g, (char) => escapes[char] ?? hexEscape(char.charCodeAt(0)));
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}
