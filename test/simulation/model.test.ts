/**
 * The simulation's reference model: after a crash the store may hold the last verified state plus
 * any prefix of the writes since that includes every acknowledged one, and nothing else; each
 * write's answer, seq, version and expiry is what the model predicts when it is issued.
 */
import { describe, expect, it } from 'vitest';
import { Model, SimulationFailure, type Intent, type IntentOp, type ModelWrite, type Observation } from './model.js';
import { valueFor } from './ops.js';

const v = (id: number, key: string) => valueFor(id, key, 'pad');
const put = (key: string, id: number, expiresAt = 0): IntentOp => ({ type: 'put', key, value: v(id, key), expiresAt });
const del = (key: string): IntentOp => ({ type: 'delete', key });
const plain = (ops: IntentOp[]): Intent => ({
  kind: ops.length > 1 ? 'batch' : ops[0].type === 'delete' ? 'delete' : 'put',
  checks: [],
  ops,
});

/** What the store would serve: [key, write id, version, expiresAt?]; size defaults to the entries. */
function observed(entries: Array<[string, number | string, number, number?]>, lastSeq: number, size = entries.length): Observation {
  const map: Observation['entries'] = new Map();
  for (const [key, id, version, expiresAt = 0] of entries)
    map.set(key, { value: typeof id === 'number' ? v(id, key) : id, version, expiresAt });
  return { entries: map, size, lastSeq };
}

/** The answer the store gives a write the model expects to succeed. */
function answerOf(write: ModelWrite): unknown {
  const expected = write.expected;
  if (expected.type === 'increment') return expected.value;
  if (expected.type === 'deleteRange') return { ok: true, seq: expected.seq, deleted: expected.deleted };
  if (expected.type === 'result') return expected.ok ? { ok: true, seq: expected.seq } : { ok: false, conflicts: expected.conflicts };
  return undefined;
}

/** Issues plain writes ([key, id] puts, [key, undefined] deletes), acknowledging the first `acked`. */
function modelWith(writes: Array<Array<[string, number | undefined]>>, acked: number): Model {
  const model = new Model();
  model.opened(1000, true);
  writes.forEach((ops, index) => {
    const { write, ack } = model.issue(plain(ops.map(([key, id]) => (id === undefined ? del(key) : put(key, id)))));
    if (index < acked) ack(answerOf(write));
  });
  return model;
}

function kindOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SimulationFailure) return error.kind;
    throw error;
  }
  return undefined;
}

describe('simulation model: crashes', () => {
  const writes: Array<Array<[string, number | undefined]>> = [
    [['a', 1]],
    [['b', 2]],
    [
      ['a', 3],
      ['c', 4],
    ],
    [['b', undefined]],
  ];

  it('accepts every acknowledged write plus any prefix of the unacknowledged ones, with their versions and last seq', () => {
    for (const landed of [
      observed(
        [
          ['a', 1, 1],
          ['b', 2, 2],
        ],
        2,
      ),
      observed(
        [
          ['a', 3, 3],
          ['b', 2, 2],
          ['c', 4, 3],
        ],
        3,
      ),
      observed(
        [
          ['a', 3, 3],
          ['c', 4, 3],
        ],
        4,
      ),
    ]) {
      expect(kindOf(() => modelWith(writes, 2).verifyRecovered(landed))).toBeUndefined();
    }
  });

  it('rejects a lost acknowledged write', () => {
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(observed([['b', 2, 2]], 2)))).toBe('lost-acked-write');
  });

  it('rejects half a batch', () => {
    const recovered = observed(
      [
        ['a', 1, 1],
        ['b', 2, 2],
        ['c', 4, 3],
      ],
      3,
    );
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(recovered))).toBe('partial-batch');
  });

  it('rejects a later unacknowledged write without the earlier one', () => {
    const recovered = observed(
      [
        ['a', 1, 1],
        ['c', 5, 3],
      ],
      3,
    );
    expect(kindOf(() => modelWith([[['a', 1]], [['b', 2]], [['c', 5]]], 1).verifyRecovered(recovered))).toBe('not-a-prefix');
  });

  it('rejects a value that was never written, or written for another key', () => {
    const model = modelWith(writes, 2);
    const cut = observed(
      [
        ['a', v(1, 'a').slice(0, -1), 1],
        ['b', 2, 2],
      ],
      2,
    );
    expect(kindOf(() => model.verifyRecovered(cut))).toBe('garbled');
    const swapped = observed(
      [
        ['a', v(2, 'b'), 1],
        ['b', 2, 2],
      ],
      2,
    );
    expect(kindOf(() => model.verifyRecovered(swapped))).toBe('garbled');
  });

  it('rejects a key an acknowledged delete removed', () => {
    const recovered = observed([['b', 2, 1]], 2);
    expect(kindOf(() => modelWith([[['b', 2]], [['b', undefined]]], 2).verifyRecovered(recovered))).toBe('resurrected');
  });

  it('rejects a write the store refused', () => {
    const model = modelWith(writes, 4);
    model.noteRefused([{ key: 'c', value: v(9, 'c') }]);
    const recovered = observed(
      [
        ['a', 3, 3],
        ['c', 9, 5],
      ],
      5,
    );
    expect(kindOf(() => model.verifyRecovered(recovered))).toBeDefined();
  });

  it('rejects the right values with the wrong versions, expiries, size or last seq', () => {
    const good: Array<[string, number, number]> = [
      ['a', 1, 1],
      ['b', 2, 2],
    ];
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(observed(good, 2)))).toBeUndefined();
    const wrongVersion = observed(
      [
        ['a', 1, 1],
        ['b', 2, 1],
      ],
      2,
    );
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(wrongVersion))).toBe('wrong-version');
    const wrongExpiry = observed(
      [
        ['a', 1, 1, 5000],
        ['b', 2, 2],
      ],
      2,
    );
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(wrongExpiry))).toBe('wrong-expiry');
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(observed(good, 2, 3)))).toBe('wrong-size');
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(observed(good, 7)))).toBe('wrong-seq');
  });

  it('flags an acknowledgement out of order', () => {
    const model = new Model();
    const first = model.issue(plain([put('a', 1)]));
    const second = model.issue(plain([put('b', 2)]));
    first.reject(Object.assign(new Error('failed'), { code: 'ERR_STORE_FAILED' }));
    second.ack({ ok: true, seq: 2 });
    expect(kindOf(() => model.throwViolations())).toBe('ack-order');
  });

  it('lets a write that writes no record settle after a later one, but not before an earlier record', () => {
    const model = new Model();
    model.issue(plain([put('a', 1)])).ack({ ok: true, seq: 1 });
    const failed = model.issue({ kind: 'put', checks: [{ key: 'a', version: 7 }], ops: [put('a', 2)] });
    const later = model.issue(plain([put('b', 3)]));
    later.ack({ ok: true, seq: 2 });
    failed.ack({ ok: false, conflicts: ['a'] });
    expect(kindOf(() => model.throwViolations())).toBeUndefined();

    const early = new Model();
    const record = early.issue(plain([put('a', 1)]));
    early.issue({ kind: 'put', checks: [{ key: 'a', absent: true }], ops: [put('a', 2)] }).ack({ ok: false, conflicts: ['a'] });
    record.ack({ ok: true, seq: 1 });
    expect(kindOf(() => early.throwViolations())).toBe('ack-order');
  });
});

describe('simulation model: what each write answers', () => {
  it('predicts conditions from the versions of every write issued before', () => {
    const model = new Model();
    model.opened(1000, true);
    const answers = [
      model.issue(plain([put('a', 1)])),
      model.issue({ kind: 'put', checks: [{ key: 'a', version: 1 }], ops: [put('a', 2)] }),
      model.issue({ kind: 'put', checks: [{ key: 'a', version: 1 }], ops: [put('a', 3)] }),
      model.issue({ kind: 'put', checks: [{ key: 'a', absent: true }], ops: [put('a', 4)] }),
      model.issue({ kind: 'delete', checks: [{ key: 'a', version: 2 }], ops: [del('a')] }),
      model.issue({ kind: 'put', checks: [{ key: 'a', absent: true }], ops: [put('a', 5)] }),
      model.issue({
        kind: 'batch',
        checks: [
          { key: 'b', absent: true },
          { key: 'a', version: 9 },
          { key: 'a', absent: true },
        ],
        ops: [put('b', 6)],
      }),
    ].map(({ write }) => write.expected);
    expect(answers).toEqual([
      { type: 'result', ok: true, seq: 1 },
      { type: 'result', ok: true, seq: 2 },
      { type: 'result', ok: false, conflicts: ['a'] },
      { type: 'result', ok: false, conflicts: ['a'] },
      { type: 'result', ok: true, seq: 3 },
      { type: 'result', ok: true, seq: 4 },
      { type: 'result', ok: false, conflicts: ['a'] },
    ]);
    expect(model.tipEntry('a')).toMatchObject({ value: v(5, 'a'), version: 4 });
    expect(model.staleVersion('a')).not.toBe(4);
  });

  it('predicts increments, and ERR_NOT_A_NUMBER with nothing written (a batch all or none)', () => {
    const model = new Model();
    model.opened(1000, true);
    const expected = (intent: Intent) => model.issue(intent).write.expected;
    expect(expected({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 'n', delta: 5 }] })).toEqual({
      type: 'increment',
      value: 5,
    });
    expect(expected({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 'n', delta: -7 }] })).toEqual({
      type: 'increment',
      value: -2,
    });
    expect(expected(plain([put('t', 1)]))).toEqual({ type: 'result', ok: true, seq: 3 });
    expect(expected({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 't', delta: 1 }] })).toEqual({
      type: 'error',
      code: 'ERR_NOT_A_NUMBER',
    });
    const batch: Intent = {
      kind: 'batch',
      checks: [],
      ops: [{ type: 'increment', key: 'n', delta: 1 }, put('t', 2), { type: 'increment', key: 't', delta: 1 }],
    };
    expect(expected(batch)).toEqual({ type: 'error', code: 'ERR_NOT_A_NUMBER' });
    expect(model.tipEntry('n')).toMatchObject({ value: '-2', version: 2 });
    expect(model.tipSeq).toBe(3);
  });

  it('hides expired keys from reads and conditions, keeps them in size, and keeps the expiry where asked', () => {
    const model = new Model();
    model.opened(1000, true);
    model.issue(plain([put('a', 1, 1500)]));
    model.issue({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 'n', delta: 1, expiresAt: 1800 }] });
    model.issue({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 'n', delta: 1 }] });
    model.issue({ kind: 'put', checks: [], ops: [{ type: 'putKeepTtl', key: 'a', value: v(2, 'a') }] });
    expect(model.tipEntry('n')).toMatchObject({ value: '2', expiresAt: 1800 });
    expect(model.tipEntry('a')).toMatchObject({ expiresAt: 1500, version: 4 });
    model.clockMoved(1500);
    const state = model.observationOf(model.stateAfter(model.writes.length), model.tipSeq);
    expect([...state.entries.keys()]).toEqual(['n']);
    expect(state.size).toBe(2);
    const expire = model.issue({ kind: 'expire', checks: [], ops: [{ type: 'expire', key: 'a', expiresAt: 0 }] }).write;
    expect(expire.expected).toEqual({ type: 'result', ok: false, conflicts: ['a'] });
    const keep = model.issue({
      kind: 'put',
      checks: [{ key: 'a', absent: true }],
      ops: [{ type: 'putKeepTtl', key: 'a', value: v(3, 'a') }],
    }).write;
    expect(keep.expected).toEqual({ type: 'result', ok: true, seq: 5 });
    expect(model.tipEntry('a')).toMatchObject({ expiresAt: 0, version: 5 });
  });

  it("keeps the store's clock at its high-water mark within a process, not across a power loss", () => {
    const model = new Model();
    model.opened(1000, true);
    model.clockMoved(2000);
    model.clockMoved(1500);
    expect(model.nowMs).toBe(2000);
    model.opened(1200, false);
    expect(model.nowMs).toBe(2000);
    model.opened(1200, true);
    expect(model.nowMs).toBe(1200);
  });

  it('predicts active expiry: committed keys expired now, each deleted unless written again since', () => {
    const model = new Model();
    model.opened(1000, true);
    model.issue(plain([put('a', 1, 1100)])).ack({ ok: true, seq: 1 });
    model.issue(plain([put('b', 2, 1100)])).ack({ ok: true, seq: 2 });
    model.clockMoved(1200);
    model.issue(plain([put('b', 3)])); // in flight: sequenced before the expiry record
    const expiry = model.issueExpiry(2);
    expect(expiry?.effects).toEqual([{ type: 'delete', key: 'a' }]);
    expect(expiry?.seq).toBe(4);
    expect(model.issueExpiry(2)).toMatchObject({ seq: undefined, effects: [] });
    model.observeCommitted(4);
    expect(expiry?.status).toBe('acked');
  });

  it('flags an answer other than the predicted one', () => {
    const model = new Model();
    model.opened(1000, true);
    model.issue(plain([put('a', 1)])).ack({ ok: true, seq: 2 });
    expect(kindOf(() => model.throwViolations())).toBe('wrong-result');
    model.issue({ kind: 'increment', checks: [], ops: [{ type: 'increment', key: 'a', delta: 1 }] }).ack(1);
    expect(kindOf(() => model.throwViolations())).toBe('wrong-result');
  });
});
