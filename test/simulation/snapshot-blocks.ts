import {
  blockHeaderBytes,
  blockKindEntries,
  entryFormatFor,
  snapshotHeaderBytes,
  snapshotHeaderSeqOffset,
  visitEntries,
} from '../../src/format/snapshot-format.js';

/** The entries block of an intact snapshot file that `offset` falls in, with its entries in file order; undefined outside one. */
export function entriesBlockAt(
  file: Uint8Array,
  offset: number,
): { start: number; end: number; entries: Array<[string, string]> } | undefined {
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const format = entryFormatFor(bytes.readUInt32LE(8), Number(bytes.readBigUInt64LE(snapshotHeaderSeqOffset)));
  for (let at = snapshotHeaderBytes; at + blockHeaderBytes <= bytes.byteLength && bytes.readUInt32LE(at + 8) === blockKindEntries; ) {
    const end = at + blockHeaderBytes + bytes.readUInt32LE(at + 4);
    if (offset >= at && offset < end) {
      const entries: Array<[string, string]> = [];
      visitEntries(bytes.subarray(at + blockHeaderBytes, end), format, (key, payload, start, stop) =>
        entries.push([key, payload.toString('utf8', start, stop)]),
      );
      return { start: at, end, entries };
    }
    at = end;
  }
  return undefined;
}
