/**
 * The simulation's reference model: after a crash the store may hold the last verified state plus
 * any prefix of the writes since that includes every acknowledged one, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { Model, SimulationFailure } from './model.js';
import { valueFor } from './ops.js';

const v = (id: number, key: string) => valueFor(id, key, 'pad');

/** Issues writes, acknowledging the first `acked` of them. */
function modelWith(writes: Array<Array<[string, number | undefined]>>, acked: number): Model {
  const model = new Model();
  writes.forEach((ops, index) => {
    const entries = ops.map(([key, id]) => (id === undefined ? { key } : { key, value: v(id, key) }));
    const { ack } = model.issue(entries.length > 1 ? 'batch' : 'put', entries);
    if (index < acked) ack();
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

describe('simulation model', () => {
  const writes: Array<Array<[string, number | undefined]>> = [
    [['a', 1]],
    [['b', 2]],
    [
      ['a', 3],
      ['c', 4],
    ],
    [['b', undefined]],
  ];

  it('accepts every acknowledged write plus any prefix of the unacknowledged ones', () => {
    for (const landed of [
      new Map([
        ['a', v(1, 'a')],
        ['b', v(2, 'b')],
      ]),
      new Map([
        ['a', v(3, 'a')],
        ['b', v(2, 'b')],
        ['c', v(4, 'c')],
      ]),
      new Map([
        ['a', v(3, 'a')],
        ['c', v(4, 'c')],
      ]),
    ]) {
      expect(kindOf(() => modelWith(writes, 2).verifyRecovered(landed))).toBeUndefined();
    }
  });

  it('rejects a lost acknowledged write', () => {
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(new Map([['b', v(2, 'b')]])))).toBe('lost-acked-write');
  });

  it('rejects half a batch', () => {
    const recovered = new Map([
      ['a', v(1, 'a')],
      ['b', v(2, 'b')],
      ['c', v(4, 'c')],
    ]);
    expect(kindOf(() => modelWith(writes, 2).verifyRecovered(recovered))).toBe('partial-batch');
  });

  it('rejects a later unacknowledged write without the earlier one', () => {
    const recovered = new Map([
      ['a', v(1, 'a')],
      ['c', v(5, 'c')],
    ]);
    expect(kindOf(() => modelWith([[['a', 1]], [['b', 2]], [['c', 5]]], 1).verifyRecovered(recovered))).toBe('not-a-prefix');
  });

  it('rejects a value that was never written, or written for another key', () => {
    const model = modelWith(writes, 2);
    expect(
      kindOf(() =>
        model.verifyRecovered(
          new Map([
            ['a', v(1, 'a').slice(0, -1)],
            ['b', v(2, 'b')],
          ]),
        ),
      ),
    ).toBe('garbled');
    expect(
      kindOf(() =>
        model.verifyRecovered(
          new Map([
            ['a', v(2, 'b')],
            ['b', v(2, 'b')],
          ]),
        ),
      ),
    ).toBe('garbled');
  });

  it('rejects a key an acknowledged delete removed', () => {
    const recovered = new Map([['b', v(2, 'b')]]);
    expect(kindOf(() => modelWith([[['b', 2]], [['b', undefined]]], 2).verifyRecovered(recovered))).toBe('resurrected');
  });

  it('rejects a write the store refused', () => {
    const model = modelWith(writes, 4);
    model.noteRefused([{ key: 'c', value: v(9, 'c') }]);
    const recovered = new Map([
      ['a', v(3, 'a')],
      ['c', v(9, 'c')],
    ]);
    expect(kindOf(() => model.verifyRecovered(recovered))).toBeDefined();
  });

  it('flags an acknowledgement out of order', () => {
    const model = new Model();
    const first = model.issue('put', [{ key: 'a', value: v(1, 'a') }]);
    const second = model.issue('put', [{ key: 'b', value: v(2, 'b') }]);
    first.reject(Object.assign(new Error('failed'), { code: 'ERR_STORE_FAILED' }));
    second.ack();
    expect(kindOf(() => model.throwViolations())).toBe('ack-order');
  });
});
