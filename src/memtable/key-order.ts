/**
 * Key order: UTF-8 byte order, as LevelDB, LMDB and Redis sort keys.
 *
 * For well-formed strings UTF-8 byte order is code point order. JavaScript's `<` compares UTF-16
 * code units, which agrees with code point order everywhere except one case: at the first differing
 * position one string has a surrogate (0xD800–0xDFFF, half of a character beyond U+FFFF) and the
 * other a unit in 0xE000–0xFFFF. UTF-16 puts the surrogate first; UTF-8 puts it last.
 *
 * Keys are well-formed: `checkKey` (src/codec.ts) rejects lone surrogates before a key reaches the
 * memtable. For ill-formed input the functions here still return a consistent total order (that of
 * the code units with surrogates moved above 0xFFFF), which is not necessarily `Buffer.compare`'s
 * (Buffer.from replaces a lone surrogate by U+FFFD).
 */

/** The sort weight of a UTF-16 code unit: surrogates above 0xE000–0xFFFF, as in code point order. */
function unitWeight(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit < 0xe000 ? unit + 0x2000 : unit - 0x800;
}

/**
 * Compares two keys in UTF-8 byte order: negative, zero or positive.
 *
 * Fast path: the loop stops at the first differing code unit, and when either unit is below 0xD800
 * (always, for ASCII and most BMP text) their difference is the answer. Only when both are at or
 * above 0xD800 does it look at whether a surrogate is involved.
 */
export function compareKeys(a: string, b: string): number {
  const aLength = a.length;
  const bLength = b.length;
  const n = Math.min(aLength, bLength);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0xd800 || y < 0xd800) return x - y;
      return unitWeight(x) - unitWeight(y);
    }
  }
  return aLength - bLength;
}

const highUnit = /[\ud800-\uffff]/;
const nonAscii = /[\u0080-\uffff]/;

/**
 * Whether every code unit of `key` is below 0x80. Such a key is its own UTF-8 and has no high
 * unit; an index whose keys are all like that can say so to readers that would otherwise check
 * each key they read (the abstract-level adapter's key decoding).
 */
export function isAsciiKey(key: string): boolean {
  return !nonAscii.test(key);
}

/**
 * Whether `key` has a code unit at or above 0xD800. Only between two such keys can `<` and UTF-8
 * order disagree: when either key has none, `compareUnits` is exact.
 */
export function hasHighUnits(key: string): boolean {
  return highUnit.test(key);
}

/**
 * UTF-16 code unit order (JavaScript's `<`): UTF-8 order whenever at least one of the two keys has no
 * unit at or above 0xD800 (see `hasHighUnits`), at about a fifth of `compareKeys`' cost on keys with
 * long shared prefixes. An index whose keys are all like that can use it for every comparison.
 */
export function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The smallest string above every string that starts with `prefix`, in UTF-8 order, or undefined
 * when there is none (`prefix` is '' or made only of U+10FFFF). Keys with the prefix are exactly the
 * keys `k` with `prefix <= k < prefixSuccessor(prefix)`.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0) {
    const last = prefix.charCodeAt(end - 1);
    if (last >= 0xdc00 && last <= 0xdfff && end >= 2) {
      const high = prefix.charCodeAt(end - 2);
      if (high >= 0xd800 && high <= 0xdbff) {
        const codePoint = ((high - 0xd800) << 10) + (last - 0xdc00) + 0x10000;
        if (codePoint === 0x10ffff) {
          end -= 2;
          continue;
        }
        return prefix.slice(0, end - 2) + String.fromCodePoint(codePoint + 1);
      }
    }
    if (last === 0xd7ff) return `${prefix.slice(0, end - 1)}\ue000`;
    if (last === 0xffff) return `${prefix.slice(0, end - 1)}\u{10000}`;
    return prefix.slice(0, end - 1) + String.fromCharCode(last + 1);
  }
  return undefined;
}

const radixMinRun = 12;
/** How many code units a radix pass looks at, at most. */
const windowUnits = 16;
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The order of `keys` in UTF-8 byte order: `order[i]` is the index in `keys` of the i-th smallest
 * key (equal keys keep their input order).
 *
 * Sorting a million strings with a comparator costs ~20 million comparisons, each reading two
 * strings scattered over the heap. This sorts mostly without comparisons instead (an MSD radix
 * sort): for the next window of code units it finds, per position, the span of units that occur,
 * packs each key's units in as few bits as those spans need (a position where all keys agree
 * costs none) above the key's index in a 64-bit integer, and sorts those natively
 * (BigUint64Array#sort). Runs that tie are sorted the same way further into the keys; short runs
 * with `compareKeys`.
 *
 * `lowOnly`: the caller knows no key has a unit at or above 0xD800 (`hasHighUnits`), so the check
 * for input already in order may use `<`.
 */
export function sortedOrder(keys: readonly string[], lowOnly = false): Uint32Array {
  const compare = lowOnly ? compareUnits : compareKeys;
  const count = keys.length;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (count < 2) return order;
  // Already in order (a map filled in key order, as from a sorted load): one sequential pass.
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) sorted = compare(keys[i - 1], keys[i]) <= 0;
  if (sorted) return order;
  if (!isLittleEndian) {
    const sorted = Array.from(order).sort((i, j) => compareKeys(keys[i], keys[j]) || i - j);
    order.set(sorted);
    return order;
  }
  const indexBits = Math.max(1, Math.ceil(Math.log2(count)));
  sortRun(keys, order, 0, count, commonPrefixLength(keys), indexBits);
  return order;
}

/** Length in code units of the prefix all keys share (native startsWith per key: cheaper than scanning it per unit). */
function commonPrefixLength(keys: readonly string[]): number {
  let prefix = keys[0];
  for (let i = 1; i < keys.length && prefix.length > 0; i++) {
    const key = keys[i];
    if (key.startsWith(prefix)) continue;
    let length = 0;
    const n = Math.min(prefix.length, key.length);
    while (length < n && prefix.charCodeAt(length) === key.charCodeAt(length)) length++;
    prefix = prefix.slice(0, length);
  }
  return prefix.length;
}

/** Sorts `order[from..to)` by the keys' code units from `offset` on (all units before it are equal). */
function sortRun(keys: readonly string[], order: Uint32Array, from: number, to: number, offset: number, indexBits: number): void {
  const length = to - from;
  if (length < 2) return;
  if (length < radixMinRun) {
    insertionSort(keys, order, from, to);
    return;
  }
  const prefixBits = Math.min(64 - indexBits, 52);
  // Per position of the window: the lowest and highest unit weight, and whether some key ends before it.
  const low = new Int32Array(windowUnits);
  const high = new Int32Array(windowUnits);
  const ended = new Uint8Array(windowUnits);
  // The positions that take bits, each with its scale (2 ** bits) and the weight that codes as 0.
  const positions = new Int32Array(windowUnits);
  const scales = new Float64Array(windowUnits);
  const bases = new Int32Array(windowUnits);
  let packedPositions = 0;
  let usedBits = 0;
  let packedUnits = 0;
  // Windows where every key agrees take no bits: skip them here rather than recursing (keys may be long).
  while (usedBits === 0) {
    low.fill(0x20000);
    high.fill(-1);
    ended.fill(0);
    let longest = 0;
    for (let i = from; i < to; i++) {
      const key = keys[order[i]];
      const units = Math.min(key.length - offset, windowUnits);
      if (units > longest) longest = units;
      for (let p = 0; p < units; p++) {
        let unit = key.charCodeAt(offset + p);
        if (unit >= 0xd800) unit = unitWeight(unit);
        if (unit < low[p]) low[p] = unit;
        if (unit > high[p]) high[p] = unit;
      }
      if (units < windowUnits) ended[units] = 1;
    }
    if (longest <= 0) return; // every key ends at `offset`: they are all equal
    // Codes per position: 0 for a key that has ended (below every unit), then 1.. for the units that
    // occur. A key that ended earlier also gets 0, which no longer matters: it already differs.
    packedPositions = 0;
    packedUnits = 0;
    while (packedUnits < longest) {
      const p = packedUnits;
      const codes = high[p] - low[p] + 1 + ended[p];
      const need = codes <= 1 ? 0 : Math.ceil(Math.log2(codes));
      if (usedBits + need > prefixBits) break;
      if (need > 0) {
        positions[packedPositions] = offset + p;
        scales[packedPositions] = 2 ** need;
        bases[packedPositions] = low[p] - ended[p];
        packedPositions++;
      }
      usedBits += need;
      packedUnits++;
    }
    if (usedBits === 0) offset += packedUnits;
  }
  const lowBits = 64 - usedBits;
  const packed = new BigUint64Array(length);
  const words = new Uint32Array(packed.buffer);
  const hiScale = lowBits >= 32 ? 2 ** (lowBits - 32) : 2 ** (32 - lowBits);
  const lowScale = lowBits < 32 ? 2 ** lowBits : 0;
  for (let i = 0; i < length; i++) {
    const index = order[from + i];
    const key = keys[index];
    const keyLength = key.length;
    let prefix = 0;
    for (let j = 0; j < packedPositions; j++) {
      const position = positions[j];
      let code = 0;
      if (position < keyLength) {
        const unit = key.charCodeAt(position);
        code = (unit >= 0xd800 ? unitWeight(unit) : unit) - bases[j];
      }
      prefix = prefix * scales[j] + code;
    }
    if (lowBits >= 32) {
      words[2 * i + 1] = prefix * hiScale;
      words[2 * i] = index;
    } else {
      const hi = Math.floor(prefix / hiScale);
      words[2 * i + 1] = hi;
      words[2 * i] = (prefix - hi * hiScale) * lowScale + index;
    }
  }
  packed.sort();
  const indexMask = lowBits >= 32 ? 0xffffffff : lowScale - 1;
  for (let i = 0; i < length; i++) order[from + i] = (words[2 * i] & indexMask) >>> 0;
  // Runs whose packed units tie continue further in (or are equal keys, which stop at `longest <= 0`).
  const next = offset + packedUnits;
  let runStart = 0;
  for (let i = 1; i <= length; i++) {
    if (i < length && words[2 * i + 1] === words[2 * runStart + 1] && (words[2 * i] & ~indexMask) === (words[2 * runStart] & ~indexMask)) {
      continue;
    }
    if (i - runStart > 1) sortRun(keys, order, from + runStart, from + i, next, indexBits);
    runStart = i;
  }
}

function insertionSort(keys: readonly string[], order: Uint32Array, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const index = order[i];
    const key = keys[index];
    let j = i - 1;
    while (j >= from) {
      const other = order[j];
      const c = compareKeys(keys[other], key);
      if (c < 0 || (c === 0 && other < index)) break;
      order[j + 1] = other;
      j--;
    }
    order[j + 1] = index;
  }
}
