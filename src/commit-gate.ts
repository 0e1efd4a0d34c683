import type { CommittedRun } from './messages/index.js';
import type { WriteSettler } from './wal/write-settler.js';
import type { FrameRecord } from './format/replication-frame.js';

/** A committed group as replication sees it: its records, in seq order. */
export interface CommittedGroup {
  readonly firstSeq: number;
  readonly records: readonly FrameRecord[];
}

/**
 * Replication's say over when a committed group is acknowledged to its callers: undefined to
 * acknowledge it now (after the groups before it), or a promise that holds the acknowledgement
 * until it resolves (the stream's ack), or rejects it (the write is durable here but was not
 * replicated). Called once per group with records, in seq order.
 */
export type CommitGate = (group: CommittedGroup) => Promise<void> | undefined;

/**
 * Acknowledges committed runs in seq order while a gate may hold some of them. Without a gate and
 * with nothing held it is the plain path: acknowledged at once. The first rejection is final: that
 * run and every later one are rejected with it (`onRejected` is told once, to refuse new writes),
 * since a later write's answer may depend on an earlier one that did not happen in the group's log.
 */
export class GatedAcknowledger {
  readonly #settler: WriteSettler;
  readonly #onRejected: (error: Error) => void;
  #gate: CommitGate | undefined;
  /** Settles once every run handed in so far is acknowledged or rejected. */
  #tail: Promise<void> = Promise.resolve();
  #held = 0;
  #failure: Error | undefined;

  constructor(settler: WriteSettler, onRejected: (error: Error) => void) {
    this.#settler = settler;
    this.#onRejected = onRejected;
    // An answer without a record (a failed check, a barrier) may depend on a held write before it:
    // it waits its turn, and shares that write's fate.
    settler.unwrittenGate = (request, outcome) => {
      if (this.#held === 0 && this.#failure === undefined) return false;
      this.#hold(Promise.resolve(), () => {
        if (this.#failure === undefined) this.#settler.settleUnwrittenNow(request, outcome);
        else this.#settler.refuse(request, this.#failure);
      });
      return true;
    };
  }

  /**
   * A new gate starts a new leadership: the last one's rejection no longer stands for what comes
   * after what is held now (the last gate's owner settles that before giving it up).
   */
  set gate(gate: CommitGate | undefined) {
    if (gate !== undefined) {
      if (this.#held === 0) this.#failure = undefined;
      else
        this.#tail = this.#tail.then(() => {
          this.#failure = undefined;
        });
    }
    this.#gate = gate;
  }

  /** Resolves once every run handed in so far is settled: for a close. */
  idle(): Promise<void> {
    return this.#tail;
  }

  commit(run: CommittedRun): void {
    const gate = this.#gate;
    if (gate === undefined && this.#held === 0 && this.#failure === undefined) {
      this.#settler.acknowledge(run);
      return;
    }
    let wait: Promise<void> | undefined;
    try {
      wait = run.requests.length === 0 || gate === undefined ? undefined : gate(groupOf(run));
    } catch (error) {
      wait = Promise.reject(error);
    }
    if (wait === undefined && this.#held === 0 && this.#failure === undefined) {
      this.#settler.acknowledge(run);
      return;
    }
    this.#hold(wait ?? Promise.resolve(), (error) => this.#settle(run, error));
  }

  /** Runs `settle` after everything held before it, once `wait` settles (with its error, if any). */
  #hold(wait: Promise<void>, settle: (error: Error | undefined) => void): void {
    wait.catch(() => undefined); // judged in order below, not as an unhandled rejection now
    this.#held++;
    this.#tail = this.#tail
      .then(() => wait)
      .then(
        () => settle(undefined),
        (error: unknown) => settle(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => this.#held--);
  }

  #settle(run: CommittedRun, error: Error | undefined): void {
    if (error !== undefined && this.#failure === undefined) {
      this.#failure = error;
      this.#onRejected(error);
    }
    const failure = this.#failure;
    if (failure === undefined) {
      this.#settler.acknowledge(run);
      return;
    }
    this.#settler.rejectWritten(run, failure);
    for (const { request } of run.unwritten ?? []) this.#settler.refuse(request, failure);
  }
}

function groupOf(run: CommittedRun): CommittedGroup {
  const { firstSeq, requests } = run;
  return { firstSeq, records: requests.map((request, index) => ({ seq: firstSeq + index, ops: request.ops })) };
}
