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
 * key (equal keys keep their input order). See `sortKeys`.
 */
export function sortedOrder(keys: readonly string[]): Uint32Array {
  return sortKeys(keys).order;
}

/**
 * Sorts keys in UTF-8 byte order: `order[i]` is the index in `keys` of the i-th smallest key (equal
 * keys keep their input order), and `lowOnly` tells whether no key has a unit at or above 0xD800
 * (`hasHighUnits`), so that `compareUnits` is exact for them.
 *
 * Sorting a million strings with a comparator costs ~20 million comparisons, each reading two
 * strings scattered over the heap. This sorts mostly without comparisons instead (an MSD radix
 * sort): for the next window of code units it finds, per position, the span of units that occur,
 * packs each key's units in as few bits as those spans need (a position where all keys agree
 * costs none) above the key's index in a 64-bit integer, and sorts those natively
 * (BigUint64Array#sort). Runs that tie are sorted the same way further into the keys; short runs
 * with `compareKeys`. Reading a key's string is the dominant cost (each is a separate heap object),
 * so the first window is planned from a sample and each key is read once to check it against the
 * plan and pack it; a key the plan does not fit sends the sort to the full two-pass scan.
 */
export function sortKeys(keys: readonly string[]): { order: Uint32Array; lowOnly: boolean } {
  const count = keys.length;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  // Already in order (a map filled in key order, as from a sorted load)? One pass that also looks
  // for high units, as far as the keys are in order.
  let lowOnly = true;
  let checked = 0;
  for (; checked < count; checked++) {
    const key = keys[checked];
    if (lowOnly && hasHighUnits(key)) lowOnly = false;
    if (checked > 0 && !(keys[checked - 1] <= key)) break;
  }
  if (checked === count) {
    // In UTF-16 order; that is UTF-8 order unless keys have high units, which compareKeys settles.
    let sorted = lowOnly;
    if (!sorted) {
      sorted = true;
      for (let i = 1; i < count && sorted; i++) sorted = compareKeys(keys[i - 1], keys[i]) <= 0;
    }
    if (sorted) return { order, lowOnly };
  }
  if (!isLittleEndian) {
    for (let i = checked; i < count && lowOnly; i++) lowOnly = !hasHighUnits(keys[i]);
    const sorted = Array.from(order).sort((i, j) => compareKeys(keys[i], keys[j]) || i - j);
    order.set(sorted);
    return { order, lowOnly };
  }
  const indexBits = Math.max(1, Math.ceil(Math.log2(count)));
  const plan = samplePlan(keys, indexBits);
  const packed = new BigUint64Array(count);
  const words = new Uint32Array(packed.buffer);
  let fits = true;
  for (let i = 0; i < count && fits; i++) {
    const key = keys[i];
    if (lowOnly && i >= checked && hasHighUnits(key)) lowOnly = false;
    fits = key.startsWith(plan.prefix) && packKey(key, i, plan, words, i, true);
  }
  if (fits) {
    sortPacked(keys, order, 0, count, packed, words, plan, indexBits);
  } else {
    for (let i = checked; i < count && lowOnly; i++) lowOnly = !hasHighUnits(keys[i]);
    sortRun(keys, order, 0, count, commonPrefixLength(keys), indexBits);
  }
  return { order, lowOnly };
}

/** How a window of code units is packed into the high bits of a 64-bit integer. */
interface Plan {
  /** Units all keys are taken to share before the window (checked with startsWith). */
  prefix: string;
  offset: number;
  /** Positions `offset .. offset + units - 1` are covered; per position, the weights seen and whether a key ends there. */
  units: number;
  low: Int32Array;
  high: Int32Array;
  ended: Uint8Array;
  /** Per position: its scale (2 ** bits, 1 for a position that takes none) and the weight that codes as 0. */
  scales: Float64Array;
  bases: Int32Array;
  usedBits: number;
}

function newPlan(offset: number): Plan {
  return {
    prefix: '',
    offset,
    units: 0,
    low: new Int32Array(windowUnits).fill(0x20000),
    high: new Int32Array(windowUnits).fill(-1),
    ended: new Uint8Array(windowUnits),
    scales: new Float64Array(windowUnits).fill(1),
    bases: new Int32Array(windowUnits),
    usedBits: 0,
  };
}

/** Adds one key's units of the window to the plan's spans; returns how many units of the window it has. */
function observe(plan: Plan, key: string): number {
  const { offset, low, high, ended } = plan;
  const units = Math.min(key.length - offset, windowUnits);
  for (let p = 0; p < units; p++) {
    let unit = key.charCodeAt(offset + p);
    if (unit >= 0xd800) unit = unitWeight(unit);
    if (unit < low[p]) low[p] = unit;
    if (unit > high[p]) high[p] = unit;
  }
  if (units < windowUnits) ended[units] = 1;
  return units;
}

/**
 * Chooses the positions to pack, up to `longest` units into the window: codes 0 for a key that has
 * ended (below every unit), then 1.. for the units that occur. A key that ended earlier also gets
 * 0, which no longer matters: it already differs.
 */
function choose(plan: Plan, longest: number, prefixBits: number): void {
  const { low, high, ended, scales, bases } = plan;
  let usedBits = 0;
  let units = 0;
  while (units < longest) {
    const p = units;
    const codes = high[p] - low[p] + 1 + ended[p];
    const need = codes <= 1 ? 0 : Math.ceil(Math.log2(codes));
    if (usedBits + need > prefixBits) break;
    scales[p] = 2 ** need;
    bases[p] = low[p] - ended[p];
    usedBits += need;
    units++;
  }
  plan.units = units;
  plan.usedBits = usedBits;
}

/** A plan for the first window from a sample of the keys: their shared prefix and spans. */
function samplePlan(keys: readonly string[], indexBits: number): Plan {
  const count = keys.length;
  const step = Math.max(1, Math.floor(count / 2048));
  let prefix = keys[0];
  for (let i = 0; i < count; i += step) prefix = sharedPrefix(prefix, keys[i]);
  const plan = newPlan(prefix.length);
  plan.prefix = prefix;
  let longest = 0;
  for (let i = 0; i < count; i += step) longest = Math.max(longest, observe(plan, keys[i]));
  choose(plan, longest, Math.min(64 - indexBits, 52));
  return plan;
}

function sharedPrefix(prefix: string, key: string): string {
  if (key.startsWith(prefix)) return prefix;
  let length = 0;
  const n = Math.min(prefix.length, key.length);
  while (length < n && prefix.charCodeAt(length) === key.charCodeAt(length)) length++;
  return prefix.slice(0, length);
}

/** Length in code units of the prefix all keys share (native startsWith per key: cheaper than scanning it per unit). */
function commonPrefixLength(keys: readonly string[]): number {
  let prefix = keys[0];
  for (let i = 1; i < keys.length && prefix.length > 0; i++) prefix = sharedPrefix(prefix, keys[i]);
  return prefix.length;
}

/**
 * Writes `key`'s packed units and `index` as the 64-bit integer `slot` of `words`. With `check`,
 * first verifies that the key fits the plan (its units within the spans, ending only where a key
 * was seen to end) and returns false if not.
 */
function packKey(key: string, index: number, plan: Plan, words: Uint32Array, slot: number, check: boolean): boolean {
  const { offset, units, low, high, ended, scales, bases } = plan;
  const keyLength = key.length;
  let prefix = 0;
  let p = 0;
  for (; p < units; p++) {
    const position = offset + p;
    if (position >= keyLength) {
      if (check && ended[p] === 0) return false;
      break;
    }
    let unit = key.charCodeAt(position);
    if (unit >= 0xd800) unit = unitWeight(unit);
    if (check && (unit < low[p] || unit > high[p])) return false;
    const scale = scales[p];
    if (scale !== 1) prefix = prefix * scale + (unit - bases[p]);
  }
  // The key has ended: code 0 at every position left.
  for (; p < units; p++) prefix *= scales[p];
  const lowBits = 64 - plan.usedBits;
  if (lowBits >= 32) {
    words[2 * slot + 1] = prefix * 2 ** (lowBits - 32);
    words[2 * slot] = index;
  } else {
    const hiScale = 2 ** (32 - lowBits);
    const hi = Math.floor(prefix / hiScale);
    words[2 * slot + 1] = hi;
    words[2 * slot] = (prefix - hi * hiScale) * 2 ** lowBits + index;
  }
  return true;
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
  let plan = newPlan(offset);
  // Windows where every key agrees take no bits: skip them here rather than recursing (keys may be long).
  for (;;) {
    let longest = 0;
    for (let i = from; i < to; i++) longest = Math.max(longest, observe(plan, keys[order[i]]));
    if (longest <= 0) return; // every key ends at `offset`: they are all equal
    choose(plan, longest, prefixBits);
    if (plan.usedBits > 0) break;
    plan = newPlan(plan.offset + plan.units);
  }
  const packed = new BigUint64Array(length);
  const words = new Uint32Array(packed.buffer);
  for (let i = 0; i < length; i++) {
    const index = order[from + i];
    packKey(keys[index], index, plan, words, i, false);
  }
  sortPacked(keys, order, from, to, packed, words, plan, indexBits);
}

/** Sorts the packed integers, writes the order back, and sorts the runs that tie further in. */
function sortPacked(
  keys: readonly string[],
  order: Uint32Array,
  from: number,
  to: number,
  packed: BigUint64Array,
  words: Uint32Array,
  plan: Plan,
  indexBits: number,
): void {
  const length = to - from;
  packed.sort();
  const lowBits = 64 - plan.usedBits;
  const indexMask = lowBits >= 32 ? 0xffffffff : 2 ** lowBits - 1;
  for (let i = 0; i < length; i++) order[from + i] = (words[2 * i] & indexMask) >>> 0;
  // Runs whose packed units tie continue further in (or are equal keys, which stop at `longest <= 0`).
  const next = plan.offset + plan.units;
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
