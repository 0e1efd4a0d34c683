import path from 'node:path';
import type { FileSystem } from './fs/file-system.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { classifyDirectory } from './format/file-names.js';
import { checkSegmentHeader, scanSegment } from './format/wal-format.js';

/**
 * The WAL as text, for people: `PUT|seq|key|value` and `DELETE|seq|key`, one line per operation
 * (the operations of a batch share its seq). Reads only; never the storage format.
 *
 * Escaping keeps one operation per line and the fields splittable on `|`: backslash, `|`, newline,
 * carriage return and tab are escaped as `\\`, `\|`, `\n`, `\r`, `\t`; other control characters as
 * `\xNN`; bytes that are not valid UTF-8 as `\xNN` too. Damage ends a segment's dump with a `#` line.
 */
export async function* dumpWal(dir: string, options: { fs?: FileSystem } = {}): AsyncGenerator<string> {
  const fs = options.fs ?? new NodeFileSystem();
  const { segments } = classifyDirectory(await fs.readdir(dir));
  for (const segment of segments) {
    const bytes = Buffer.from(await fs.readFile(path.join(dir, segment.name)));
    const headerProblem = checkSegmentHeader(bytes);
    if (headerProblem !== undefined) {
      yield `# ${segment.name}: ${headerProblem}`;
      continue;
    }
    const scan = scanSegment(bytes, segment.firstSeq - 1);
    for (const record of scan.records) {
      for (const op of record.ops) {
        if (op.type === 'put') yield `PUT|${record.seq}|${escapeField(Buffer.from(op.key, 'utf8'))}|${escapeField(op.value)}`;
        else yield `DELETE|${record.seq}|${escapeField(Buffer.from(op.key, 'utf8'))}`;
      }
    }
    if (scan.damage !== undefined) yield `# ${segment.name} at byte ${scan.damage.offset}: ${scan.damage.reason}`;
  }
}

const escapes: Record<string, string> = { '\\': '\\\\', '|': '\\|', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function escapeField(bytes: Uint8Array): string {
  const text = Buffer.from(bytes).toString('utf8');
  // Invalid UTF-8 decodes to U+FFFD; if the round trip differs, fall back to escaping every byte.
  const exact = Buffer.from(text, 'utf8').equals(bytes);
  if (!exact) return Array.from(bytes, (byte) => (byte >= 0x20 && byte < 0x7f && byte !== 0x5c && byte !== 0x7c ? String.fromCharCode(byte) : hexEscape(byte))).join('');
  return text.replace(/[\\|\n\r\t]|[\x00-\x1f\x7f]/g, (char) => escapes[char] ?? hexEscape(char.charCodeAt(0)));
}

function hexEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}
