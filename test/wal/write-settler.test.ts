import { describe, expect, it } from 'vitest';
import { WriteSettler } from '../../src/wal/write-settler.js';
import type { WriteRequest } from '../../src/messages/index.js';

/** A request that records how it was settled. */
function request(settled: string[], name: string): WriteRequest {
  return {
    kind: 'put',
    ops: [],
    recordBytes: 0,
    startedAtMs: 0,
    resolve: () => settled.push(`${name} resolved`),
    reject: (error) => settled.push(`${name} rejected: ${error.message}`),
  };
}

describe('WriteSettler', () => {
  it('acknowledges runs in seq order and rejects the rest, each request once', () => {
    const settled: string[] = [];
    const settler = new WriteSettler(10);
    settler.acknowledge({ firstSeq: 11, requests: [request(settled, 'a'), request(settled, 'b')] });
    settler.rejectWritten({ firstSeq: 14, requests: [request(settled, 'd')] }, new Error('fsync'));
    settler.acknowledge({ firstSeq: 13, requests: [request(settled, 'c')] }); // durable before the failure
    settler.refuse(request(settled, 'e'), new Error('full'));
    expect(settled).toEqual(['a resolved', 'b resolved', 'd rejected: fsync', 'c resolved', 'e rejected: full']);
    expect(() => settler.assertSettledThrough(14)).not.toThrow();
    expect(() => settler.assertSettledThrough(15)).toThrow(/settled up to seq 14 of 15/);
  });

  it('refuses to acknowledge out of seq order, twice, or after rejecting', () => {
    const settler = new WriteSettler(0);
    expect(() => settler.acknowledge({ firstSeq: 2, requests: [request([], 'x')] })).toThrow(/acknowledging seq 2 after 0/);
    settler.acknowledge({ firstSeq: 1, requests: [request([], 'a')] });
    expect(() => settler.acknowledge({ firstSeq: 1, requests: [request([], 'a')] })).toThrow(/after 1/);
    settler.rejectWritten({ firstSeq: 3, requests: [request([], 'c')] }, new Error('write'));
    expect(() => settler.acknowledge({ firstSeq: 2, requests: [request([], 'b'), request([], 'c')] })).toThrow(/already rejected/);
  });

  it('refuses to reject a seq twice or one already acknowledged, and notices a seq never settled', () => {
    const settler = new WriteSettler(0);
    settler.acknowledge({ firstSeq: 1, requests: [request([], 'a')] });
    expect(() => settler.rejectWritten({ firstSeq: 1, requests: [request([], 'a')] }, new Error('x'))).toThrow(/already settled/);
    settler.rejectWritten({ firstSeq: 3, requests: [request([], 'c'), request([], 'd')] }, new Error('x'));
    expect(() => settler.rejectWritten({ firstSeq: 4, requests: [request([], 'd')] }, new Error('x'))).toThrow(/twice/);
    expect(() => settler.assertSettledThrough(4)).toThrow(/seq 2 never settled/);
  });
});

describe('WriteSettler after a rejection in seq order', () => {
  it('acknowledges the seqs after a rejected run that was next in line (a later leadership goes on)', () => {
    const settler = new WriteSettler(0);
    settler.acknowledge({ firstSeq: 1, requests: [request([], 'a')] });
    settler.rejectWritten({ firstSeq: 2, requests: [request([], 'b')] }, new Error('not replicated'));
    settler.acknowledge({ firstSeq: 3, requests: [request([], 'c')] });
    settler.assertSettledThrough(3);
    expect(() => settler.rejectWritten({ firstSeq: 3, requests: [request([], 'c')] }, new Error('x'))).toThrow(/already settled/);
  });
});
