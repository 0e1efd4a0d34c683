import type { CommittedRun, UnwrittenWrite, WriteRequest } from '../messages/index.js';
import { assert } from '../errors.js';
import type { WriteResult } from '../types.js';

/** Written requests holding consecutive seqs: `requests[i]` has seq `firstSeq + i`. */
export interface SeqRun {
  readonly firstSeq: number;
  readonly requests: readonly WriteRequest[];
}

/**
 * The one place a write request is settled: its caller's promise resolved or rejected. Nothing
 * else calls a request's `resolve` or `reject`.
 *
 * Exactly once, checked without a word per request: a request refused before it got a seq leaves
 * the mailbox once (`refuse`); the seqs handed out are acknowledged as consecutive runs in seq order
 * (one comparison per run), the rest rejected as ranges that must neither overlap each other nor
 * reach down into the acknowledged ones. `assertSettledThrough` then checks, once the WAL is idle,
 * that acknowledged and rejected together tile every seq handed out. Rejections happen at most once
 * per store (the first failure ends it), so their bookkeeping costs the write path nothing.
 */
export class WriteSettler {
  /** Seqs up to here were there before this store opened. */
  readonly #recoveredSeq: number;
  /** Every seq in (#recoveredSeq, #settledSeq] is acknowledged or rejected, in order. */
  #settledSeq: number;
  /** Seq ranges rejected after they were written, as [first, last]. */
  readonly #rejected: Array<[number, number]> = [];

  constructor(recoveredSeq: number) {
    this.#recoveredSeq = recoveredSeq;
    this.#settledSeq = recoveredSeq;
  }

  /** Resolves a committed run: durable under the sync policy and applied to the memtable. */
  acknowledge(run: CommittedRun): void {
    const { firstSeq, requests } = run;
    const lastSeq = firstSeq + requests.length - 1;
    // Checked before any message is built: this runs once per commit.
    if (firstSeq !== this.#settledSeq + 1 || (this.#rejected.length > 0 && lastSeq >= this.#lowestRejectedSeq())) {
      this.#refuseAcknowledgement(firstSeq, lastSeq);
    }
    this.#settledSeq = lastSeq;
    // Writes that wrote no record are answered in their place among the others: acknowledgements
    // keep the order the writes were sequenced in.
    const unwritten = run.unwritten;
    let next = 0;
    for (let index = 0; index < requests.length; index++) {
      const request = requests[index];
      const seq = firstSeq + index;
      if (unwritten !== undefined) while (next < unwritten.length && unwritten[next].afterSeq < seq) this.#answer(unwritten[next++]);
      if (request.value !== undefined) request.resolve(request.value);
      else request.resolve(request.deleted === undefined ? { ok: true, seq } : { ok: true, seq, deleted: request.deleted });
    }
    if (unwritten !== undefined) while (next < unwritten.length) this.#answer(unwritten[next++]);
  }

  #answer({ request, afterSeq, outcome }: UnwrittenWrite): void {
    assert(afterSeq <= this.#settledSeq, `answering a write judged after seq ${afterSeq}, acknowledged up to ${this.#settledSeq}`);
    this.settleUnwrittenNow(request, outcome);
  }

  /**
   * Settles a request that wrote no record: a failed check (`{ ok: false }`), a value that was not a
   * number (an error), or a write that resolved to nothing to do. The caller waits until every
   * record sequenced before it is committed, so what the caller then reads agrees with the answer.
   */
  settleUnwritten(request: WriteRequest, outcome: WriteResult | Error): void {
    if (this.unwrittenGate?.(request, outcome) === true) return;
    this.settleUnwrittenNow(request, outcome);
  }

  /** Settles an unwritten write now, past any gate: for the gate itself, in its turn. */
  settleUnwrittenNow(request: WriteRequest, outcome: WriteResult | Error): void {
    if (outcome instanceof Error) request.reject(outcome);
    else request.resolve(outcome);
  }

  /** Rejects a request that never got a seq: refused at the mailbox, or still queued when the WAL failed. */
  refuse(request: WriteRequest, error: Error): void {
    request.reject(error);
  }

  /**
   * Set by the engine while replication holds acknowledgements: takes an unwritten write's answer
   * to give it in its place after the held runs (true), or leaves it to be answered now (false).
   */
  unwrittenGate: ((request: WriteRequest, outcome: WriteResult | Error) => boolean) | undefined;

  /** Rejects written requests that will never be acknowledged (their write or fsync failed). */
  rejectWritten(run: SeqRun, error: Error): void {
    const { firstSeq, requests } = run;
    if (requests.length === 0) return;
    const lastSeq = firstSeq + requests.length - 1;
    assert(firstSeq > this.#settledSeq, `rejecting seq ${firstSeq}, already settled up to ${this.#settledSeq}`);
    for (const [first, last] of this.#rejected) {
      assert(lastSeq < first || firstSeq > last, `rejecting seqs ${firstSeq}..${lastSeq} twice`);
    }
    // Next in line (replication refused it, and a later leadership may go on): settled, in order.
    // Else (the WAL failed with several groups in flight) kept as a range until the end.
    if (firstSeq === this.#settledSeq + 1) this.#settledSeq = lastSeq;
    else this.#rejected.push([firstSeq, lastSeq]);
    for (const request of requests) request.reject(error);
  }

  /** Asserts every seq handed out, up to `lastSeq`, was settled exactly once (call when idle). */
  assertSettledThrough(lastSeq: number): void {
    let settledThroughSeq = this.#settledSeq;
    const ranges = [...this.#rejected].sort((a, b) => a[0] - b[0]);
    for (const [first, last] of ranges) {
      assert(first === settledThroughSeq + 1, `seq ${settledThroughSeq + 1} never settled`);
      settledThroughSeq = last;
    }
    assert(settledThroughSeq === lastSeq, `settled up to seq ${settledThroughSeq} of ${lastSeq} (from ${this.#recoveredSeq})`);
  }

  #refuseAcknowledgement(firstSeq: number, lastSeq: number): never {
    assert(firstSeq === this.#settledSeq + 1, `acknowledging seq ${firstSeq} after ${this.#settledSeq}`);
    assert(false, `acknowledging seq ${lastSeq}, already rejected`);
  }

  #lowestRejectedSeq(): number {
    return Math.min(...this.#rejected.map(([first]) => first));
  }
}
