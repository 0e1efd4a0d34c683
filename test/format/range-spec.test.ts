import { describe, expect, it } from 'vitest';
import { decodeRangeSpec, encodeRangeSpec, rangeOptionsOf } from '../../src/format/range-spec.js';
import { normalizeRange } from '../../src/memtable/range-options.js';
import type { RangeOptions } from '../../src/index.js';

describe('the range spec a deleteRange record carries', () => {
  const cases: RangeOptions[] = [
    {},
    { gt: 'a', lte: 'z😀' },
    { gte: '', lt: '\uffff', reverse: true, limit: 0 },
    { prefix: 'user:42:', limit: 7 },
    { prefix: 'é', gt: 'éa', reverse: true, limit: Number.POSITIVE_INFINITY },
  ];

  it.each(cases.map((options) => [JSON.stringify(options), options] as const))('round-trips %s', (_name, options) => {
    const range = normalizeRange(options);
    const spec = encodeRangeSpec(range);
    expect(decodeRangeSpec(spec, 0, spec.byteLength)).toEqual(range);
    expect(normalizeRange(rangeOptionsOf(range))).toEqual(range);
  });

  it('refuses what is not a spec: too short, unknown flags, a bad limit, lengths past the end', () => {
    const spec = encodeRangeSpec(normalizeRange({ gt: 'abc', lt: 'abd', limit: 3 }));
    expect(decodeRangeSpec(spec, 0, 10)).toBeUndefined();
    const flags = Buffer.from(spec);
    flags[0] |= 0x80;
    expect(decodeRangeSpec(flags, 0, flags.byteLength)).toBeUndefined();
    const limit = Buffer.from(spec);
    limit.writeDoubleLE(-1, 1);
    expect(decodeRangeSpec(limit, 0, limit.byteLength)).toBeUndefined();
    const length = Buffer.from(spec);
    length.writeUInt32LE(1000, 9);
    expect(decodeRangeSpec(length, 0, length.byteLength)).toBeUndefined();
  });
});
