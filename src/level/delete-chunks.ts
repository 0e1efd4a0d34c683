/**
 * Runs of store keys to delete, in order, each one batch (one WAL record): at most `batchOpsMax`
 * keys and `keyBytesMax` bytes of keys (a stored key's character is below U+0100: at most two UTF-8
 * bytes), and at least one key however long it is.
 */
export function* deleteChunks(keys: readonly string[], batchOpsMax: number, keyBytesMax: number): IterableIterator<string[]> {
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < keys.length; i++) {
    const keyBytes = 2 * keys[i].length;
    if (i > start && (i - start >= batchOpsMax || bytes + keyBytes > keyBytesMax)) {
      yield keys.slice(start, i);
      start = i;
      bytes = 0;
    }
    bytes += keyBytes;
  }
  if (start < keys.length) yield keys.slice(start);
}
