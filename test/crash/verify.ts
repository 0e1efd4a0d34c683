/**
 * What a store recovered after the crash-writer was killed may and may not hold. Shared by the
 * kill -9 test and `npm run torture`.
 */
import { opNumberOf, profiles, runPrefix, writerPrefix, writerStates, type CrashMode } from '../fixtures/crash-workload.js';

/** The behaviour a failure breaks: the test has one check per trait. */
export type Trait = 'child' | 'open' | 'lock' | 'acked' | 'deletes' | 'batches' | 'usable';

export interface Failure {
  trait: Trait;
  message: string;
}

/** What the parent read from the child's stdout (see test/fixtures/crash-writer.ts for the lines). */
export class ChildLog {
  ready = false;
  /** writer -> last acknowledged op number. */
  readonly lastAcked = new Map<number, number>();
  acks = 0;
  /** Acknowledged batches after the fill batch (op 0). */
  batchAcks = 0;
  readonly snapshotsStarted = new Set<number>();
  readonly snapshotsDone = new Set<number>();
  readonly errors: string[] = [];
  readonly malformed: string[] = [];
  #partial = '';

  /** Feeds a chunk of stdout; calls `onLine` with each complete line after it was taken in. */
  feed(chunk: string, onLine?: (line: string) => void): void {
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop()!;
    for (const line of lines) {
      this.#take(line);
      onLine?.(line);
    }
  }

  /** A manual snapshot had started and not finished when the child died. */
  get snapshotInProgress(): boolean {
    return [...this.snapshotsStarted].some((id) => !this.snapshotsDone.has(id));
  }

  #take(line: string): void {
    const [tag, ...fields] = line.split(' ');
    if (tag === 'A' && fields.length === 3) {
      const writer = Number(fields[0]);
      const n = Number(fields[1]);
      const previous = this.lastAcked.get(writer) ?? -1;
      // A writer issues op n + 1 only after reporting op n: its acks come in order, one by one.
      if (n !== previous + 1) this.malformed.push(`writer ${writer} acknowledged op ${n} after op ${previous}`);
      this.lastAcked.set(writer, n);
      this.acks++;
      if (fields[2] === 'b' && n > 0) this.batchAcks++;
    } else if (tag === 'S' && fields[1] === 'start') {
      this.snapshotsStarted.add(Number(fields[0]));
    } else if (tag === 'S' && fields[1] === 'done') {
      this.snapshotsDone.add(Number(fields[0]));
    } else if (tag === 'R') {
      this.ready = true;
    } else if (tag === 'E') {
      this.errors.push(fields.join(' '));
    } else if (line !== '') {
      this.malformed.push(line);
    }
  }
}

export interface Verification {
  /** Acknowledged ops whose effect was checked (each writer's ops 0..last acknowledged). */
  ackedOpsVerified: number;
  keysChecked: number;
  failures: Failure[];
}

export interface RecoveredRun {
  mode: CrashMode;
  /** The killed run's seed: its keys start with `s<seed>/`. */
  seed: number;
  log: ChildLog;
  /** Everything the reopened store holds. */
  recovered: ReadonlyMap<string, string>;
  /** What the store held before the child ran (earlier rounds in the same directory). */
  before: ReadonlyMap<string, string>;
}

/**
 * Each writer's keys must be exactly as after its last acknowledged op, or as after the op it had
 * in flight: then no acknowledged write is lost (values only increase, so a recovered value is >=
 * the acknowledged one and <= the last issued one), no acknowledged delete is undone, and a batch in
 * flight is all or none. Data from before the run must be untouched.
 */
export function verifyRecovered(run: RecoveredRun): Verification {
  const failures: Failure[] = [];
  let ackedOpsVerified = 0;
  let keysChecked = 0;
  const { writers } = profiles[run.mode];
  const byWriter = groupByWriter(run, failures);
  for (let writer = 0; writer < writers; writer++) {
    const lastAcked = run.log.lastAcked.get(writer) ?? -1;
    const recovered = byWriter.get(writer) ?? new Map<string, string>();
    failures.push(...checkWriter(run, writer, lastAcked, recovered));
    ackedOpsVerified += lastAcked + 1;
    keysChecked += recovered.size;
  }
  const earlier = new Map([...run.recovered].filter(([key]) => !key.startsWith(runPrefix(run.seed))));
  for (const difference of diffMaps(run.before, earlier))
    failures.push({ trait: 'acked', message: `data from before the run changed: ${difference}` });
  keysChecked += earlier.size;
  return { ackedOpsVerified, keysChecked, failures: capPerTrait(failures, 20) };
}

/** The first `limit` failures of each trait, and how many more there were: enough to diagnose. */
function capPerTrait(failures: readonly Failure[], limit: number): Failure[] {
  const kept: Failure[] = [];
  const counts = new Map<Trait, number>();
  for (const failure of failures) {
    const count = (counts.get(failure.trait) ?? 0) + 1;
    counts.set(failure.trait, count);
    if (count <= limit) kept.push(failure);
  }
  for (const [trait, count] of counts) {
    if (count > limit) kept.push({ trait, message: `... and ${count - limit} more like these` });
  }
  return kept;
}

function groupByWriter(run: RecoveredRun, failures: Failure[]): Map<number, Map<string, string>> {
  const prefix = runPrefix(run.seed);
  const byWriter = new Map<number, Map<string, string>>();
  for (const [key, value] of run.recovered) {
    if (!key.startsWith(prefix)) continue;
    const writer = Number(/^w(\d+)\//.exec(key.slice(prefix.length))?.[1] ?? NaN);
    if (!Number.isInteger(writer) || !key.startsWith(writerPrefix(run.seed, writer))) {
      failures.push({ trait: 'acked', message: `key ${key} was never written by any writer` });
      continue;
    }
    if (!byWriter.has(writer)) byWriter.set(writer, new Map());
    byWriter.get(writer)!.set(key, value);
  }
  return byWriter;
}

function checkWriter(run: RecoveredRun, writer: number, lastAcked: number, recovered: ReadonlyMap<string, string>): Failure[] {
  const { acked, inFlight, withInFlight } = writerStates(run.mode, run.seed, writer, lastAcked);
  if (sameMap(recovered, acked) || sameMap(recovered, withInFlight)) return [];
  const where = `writer ${writer} (last acknowledged op ${lastAcked}, op ${lastAcked + 1} in flight: a ${inFlight.type})`;
  const failures: Failure[] = [];
  const keys = new Set([...recovered.keys(), ...acked.keys(), ...withInFlight.keys()]);
  for (const key of keys) {
    const failure = checkKey(key, recovered.get(key), acked.get(key), withInFlight.get(key), lastAcked);
    if (failure !== undefined) failures.push({ trait: failure.trait, message: `${where}: ${failure.message}` });
  }
  if (failures.length > 0) return failures.slice(0, 5);
  // Every key holds either its acknowledged or its in-flight value, yet the whole matches neither:
  // only the in-flight batch can have been applied in part.
  const changed = [...keys].filter((key) => acked.get(key) !== withInFlight.get(key));
  const applied = changed.filter((key) => recovered.get(key) === withInFlight.get(key));
  return [
    {
      trait: 'batches',
      message: `${where}: ${applied.length} of the ${changed.length} keys its batch changes were applied (${applied.slice(0, 3).join(', ')}...)`,
    },
  ];
}

function checkKey(
  key: string,
  got: string | undefined,
  acked: string | undefined,
  inFlight: string | undefined,
  lastAcked: number,
): Failure | undefined {
  if (got === acked || got === inFlight) return undefined;
  const show = (value: string | undefined) => (value === undefined ? 'absent' : `op ${opNumberOf(value)}'s value`);
  const expected = `expected ${show(acked)}${inFlight !== acked ? ` or ${show(inFlight)}` : ''}`;
  if (got === undefined) return { trait: 'acked', message: `${key} lost: it is absent, ${expected}` };
  const gotOp = opNumberOf(got);
  if (acked === undefined && inFlight === undefined && gotOp <= lastAcked) {
    return { trait: 'deletes', message: `${key} came back: it holds op ${gotOp}'s value, but an acknowledged delete removed it` };
  }
  if (gotOp > lastAcked + 1) return { trait: 'acked', message: `${key} holds op ${gotOp}'s value, an op never issued; ${expected}` };
  if (gotOp === opNumberOf(acked ?? inFlight ?? '0:')) return { trait: 'acked', message: `${key} holds a damaged value of op ${gotOp}` };
  return { trait: 'acked', message: `${key} holds op ${gotOp}'s value, older than acknowledged; ${expected}` };
}

export function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (b.get(key) !== value) return false;
  return true;
}

/** Up to `limit` human-readable differences between what was expected and what is there. */
export function diffMaps(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>, limit = 5): string[] {
  const differences: string[] = [];
  const short = (value: string | undefined) =>
    value === undefined ? 'absent' : JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}...` : value);
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    if (expected.get(key) === actual.get(key)) continue;
    differences.push(`${key}: expected ${short(expected.get(key))}, found ${short(actual.get(key))}`);
    if (differences.length >= limit) break;
  }
  return differences;
}
