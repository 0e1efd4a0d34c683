/**
 * The simulation's operations: what a run does, step by step, as plain data.
 *
 * A run is fully described by its seed (which fixes the store configuration and seeds the
 * FaultyFileSystem's random choices) and this list. The list is generated from the seed, but the
 * runner only ever reads the list, so a failing history can be cut down (see shrink.ts) and replayed.
 */
import type { FaultCode, FaultOp } from '../../src/testing/index.js';
import { Prng } from '../../src/testing/index.js';

/** One operation of a batch: `delta` set means increment, else `value` undefined means delete. */
export interface BatchEntry {
  key: string;
  value?: string;
  /** A put's expiry. */
  ttl?: TtlSpec;
  /** An increment by this much. */
  delta?: number;
}

/**
 * An expiry as an op asks for it: `ttlMs`, or `expiresAt` as an offset from the store's clock when
 * the op runs (0 or less: already expired), or the key's own (`keepTtl`, puts only).
 */
export type TtlSpec = { ttlMs: number } | { expiresInMs: number } | { keepTtl: true };
/** An expiry that sets one (increment, expire). */
export type SetTtlSpec = Exclude<TtlSpec, { keepTtl: true }>;

/**
 * The version a conditional write expects, chosen when the op runs from what the model predicts:
 * the key's version then ('current': the condition holds, unless the key is missing or expired), or
 * one it does not have ('stale': an older version of the key, or any other).
 */
export type VersionPick = 'current' | 'stale';

/** A batch check: the key at a version, or missing. */
export type CheckSpec = { key: string; version: VersionPick } | { key: string; absent: true };

/** The range options the simulation draws: a subset of the store's RangeOptions. */
export interface SimRange {
  prefix?: string;
  gte?: string;
  lt?: string;
  reverse?: boolean;
  limit?: number;
}

export type SimOp =
  /** Starts a put (not awaited: it stays in flight until a settle, a close or a crash). Conditional: `ifVersion` or `ifAbsent`. */
  | { type: 'put'; key: string; value: string; ttl?: TtlSpec; ifVersion?: VersionPick; ifAbsent?: true }
  | { type: 'delete'; key: string; ifVersion?: VersionPick }
  | { type: 'batch'; entries: BatchEntry[]; checks?: CheckSpec[] }
  /** Starts a deleteRange (not awaited). */
  | { type: 'deleteRange'; range: SimRange }
  /** Starts an increment (not awaited). */
  | { type: 'increment'; key: string; delta: number; ttl?: SetTtlSpec }
  /** Starts an expire (not awaited): sets the key's expiry, or removes it (null). */
  | { type: 'expire'; key: string; ttl: SetTtlSpec | null }
  /** Moves the simulated wall clock (the store's `clock` option) by `stepMs`; negative: backwards. */
  | { type: 'clock'; stepMs: number }
  /** Runs active expiry now (its timer, held by the simulation, fires). */
  | { type: 'sweep' }
  /** Starts a manual snapshot (not awaited). */
  | { type: 'snapshot' }
  /** Lets `turns` microtask turns pass, so writes, syncs and snapshots interleave. */
  | { type: 'yield'; turns: number }
  /** Waits for every write and snapshot in flight, then checks reads against the model. */
  | { type: 'settle' }
  /** Arms a fault: the `nth` next call of `op` fails with `code`. */
  | { type: 'fault'; op: FaultOp; nth: number; code: FaultCode }
  /** Arms a torn append: the `nth` next append writes a strict prefix and fails. */
  | { type: 'torn'; nth: number }
  /**
   * Power loss at the `afterCalls`-th next file-system call of the store (0: now), with whatever is
   * in flight; then reopen. `openCrashAfter`: the reopen itself loses power at that call.
   * `flip`: the reopen reads with bit flips at that probability per read.
   */
  | { type: 'crash'; afterCalls: number; openCrashAfter?: number; flip?: number }
  /**
   * close() with whatever is in flight, then open again. `damage`: between the two, one bit of one
   * store file flips on the disk itself (latent media damage): the file is the `file`-th of the
   * directory's store files by name, the byte `at` modulo its size, the bit `bit`.
   */
  | { type: 'reopen'; flip?: number; damage?: MediaDamage };

/** One bit flipped on the disk between a clean close and the next open. */
export interface MediaDamage {
  file: number;
  at: number;
  bit: number;
}

/** The store configuration a seed chooses. */
export interface SimConfig {
  segmentBytesMax: number;
  autoSnapshotWalBytes: number | false;
  /** Whether this seed's reopenings may read with bit flips. */
  flipMode: boolean;
  /** Snapshot generations kept (absent in histories pinned before it existed: the default, 2). */
  snapshotGenerations?: number;
  /** Bytes of entries per snapshot block (absent: the default). Small, so small snapshots have several. */
  snapshotBlockBytes?: number;
}

export interface PlanOptions {
  /** Probability that a step arms a fault. Default 0.03. */
  faultRate?: number;
  /** Share of seeds in bit-flip mode. Default 0.1. */
  flipShare?: number;
  /** Steps per run. Default: 60..180, drawn from the seed. */
  steps?: number;
}

export interface Plan {
  seed: number;
  config: SimConfig;
  ops: SimOp[];
}

const keyPool = ['a', 'b', 'c', 'k1', 'k2', 'user/7', 'z', 'ключ', '🔑', `long:${'x'.repeat(40)}`, 'é', 'k3'];
const padAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const padWide = ['é', '漢', '🙂'];

/** The faults a step can arm, with weights: mostly the write path, some on reads and recovery. */
const faultWeights: Array<[FaultOp | 'torn', number]> = [
  ['append', 4],
  ['sync', 4],
  ['syncDir', 3],
  ['rename', 2],
  ['openAppend', 2],
  ['torn', 3],
  ['unlink', 1],
  ['readdir', 1],
  ['readFile', 1],
  ['read', 1],
  ['openRead', 1],
  ['truncate', 1],
  ['lock', 0.5],
  ['mkdir', 0.5],
];

type OpKind = 'put' | 'delete' | 'batch' | 'snapshot' | 'yield' | 'settle' | 'crash' | 'reopen';
const opWeights: Array<[OpKind, number]> = [
  ['put', 30],
  ['delete', 6],
  ['batch', 8],
  ['snapshot', 3],
  ['yield', 16],
  ['settle', 7],
  ['crash', 3],
  ['reopen', 2],
];

function weighted<T>(prng: Prng, choices: ReadonlyArray<readonly [T, number]>): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let draw = prng.next() * total;
  for (const [choice, weight] of choices) {
    draw -= weight;
    if (draw < 0) return choice;
  }
  return choices[choices.length - 1][0];
}

/**
 * A value names its write and key (`<id>|<key>|<padding>`), so every value is unique and a value that
 * was never written, or was written for another key, or is cut short, is recognisable.
 */
export function valueFor(id: number, key: string, padding: string): string {
  return `${id}|${key}|${padding}`;
}

/** The write id a value names, if it has the shape of one. */
export function writeIdOf(value: string): number | undefined {
  const match = /^(\d+)\|/.exec(value);
  return match ? Number(match[1]) : undefined;
}

/** Generates the store configuration and the op list for a seed. */
export function planFor(seed: number, options: PlanOptions = {}): Plan {
  const prng = new Prng(seed);
  const faultRate = options.faultRate ?? 0.03;
  const config: SimConfig = {
    segmentBytesMax: prng.pick([256, 512, 1024, 4096]),
    autoSnapshotWalBytes: prng.chance(0.15) ? false : prng.pick([512, 1024, 2048, 8192]),
    flipMode: prng.chance(options.flipShare ?? 0.1),
    ...snapshotStorageFor(seed),
  };
  const keys = keyPool.filter(() => prng.chance(0.6));
  if (keys.length < 2) keys.push('a', 'b');
  const steps = options.steps ?? 60 + prng.int(121);
  let nextId = 1;
  let dataIds = dataIdsFirst;
  const padding = (): string => {
    const length = prng.chance(0.1) ? 100 + prng.int(400) : prng.int(40);
    let text = '';
    for (let i = 0; i < length; i++) text += prng.chance(0.05) ? prng.pick(padWide) : padAlphabet[prng.int(padAlphabet.length)];
    return text;
  };
  const put = (key: string): { key: string; value: string } => ({ key, value: valueFor(nextId++, key, padding()) });
  const flip = (): number | undefined => (config.flipMode && prng.chance(0.5) ? 0.1 + prng.int(5) / 10 : undefined);

  const ops: SimOp[] = [];
  for (let step = 0; step < steps; step++) {
    if (prng.chance(faultRate)) {
      const op = weighted(prng, faultWeights);
      const nth = 1 + prng.int(4);
      ops.push(op === 'torn' ? { type: 'torn', nth } : { type: 'fault', op, nth, code: prng.chance(0.7) ? 'EIO' : 'ENOSPC' });
      continue;
    }
    switch (weighted(prng, opWeights)) {
      case 'put':
        ops.push({ type: 'put', ...put(prng.pick(keys)) });
        break;
      case 'delete':
        ops.push({ type: 'delete', key: prng.pick(keys) });
        break;
      case 'batch': {
        const size = 1 + prng.int(5);
        const entries: BatchEntry[] = [];
        for (let i = 0; i < size; i++) {
          const key = prng.pick(keys);
          entries.push(prng.chance(0.25) ? { key } : put(key));
        }
        ops.push({ type: 'batch', entries });
        break;
      }
      case 'snapshot':
        ops.push({ type: 'snapshot' });
        break;
      case 'yield':
        ops.push({ type: 'yield', turns: 1 + prng.int(prng.chance(0.2) ? 200 : 20) });
        break;
      case 'settle':
        ops.push({ type: 'settle' });
        break;
      case 'crash': {
        const crash: SimOp = { type: 'crash', afterCalls: prng.chance(0.2) ? 0 : 1 + prng.int(40) };
        if (prng.chance(0.15)) crash.openCrashAfter = 1 + prng.int(15);
        const p = flip();
        if (p !== undefined) crash.flip = p;
        ops.push(crash);
        break;
      }
      case 'reopen': {
        const p = flip();
        const reopen: SimOp = p === undefined ? { type: 'reopen' } : { type: 'reopen', flip: p };
        const damage = mediaDamageFor(seed, step);
        if (damage !== undefined) reopen.damage = damage;
        ops.push(reopen);
        break;
      }
    }
    const deleteRange = deleteRangeFor(seed, step, keys, config.snapshotGenerations !== 1);
    if (deleteRange !== undefined) ops.push(deleteRange);
    dataModelFor(seed, step, keys, ops, () => dataIds++);
  }
  return { seed, config, ops };
}

/** Keys that hold numbers (increments go mostly there), apart from the pool so that they stay numbers. */
const counterKeys = ['n1', 'n/2'];

/** Ids of the values the data-model ops write: their own range, so the other ops' values are as they were. */
const dataIdsFirst = 1_000_001;

/**
 * The data model's ops after the op of `step`, from their own PRNG (as `mediaDamageFor`), so that
 * adding them left every other op of a seed's history as it was: conditions and expiries on the
 * step's put, delete or batch, and about every other step one more op: an increment, an expire, a
 * conditional put or delete, a batch with checks and increments, a put of a number, a step of the
 * simulated clock (sometimes backwards) or a run of active expiry.
 */
function dataModelFor(seed: number, step: number, keys: readonly string[], ops: SimOp[], nextId: () => number): void {
  const prng = new Prng((seed * 1_000_037 + step * 13 + 0xda7a) >>> 0);
  const last = ops[ops.length - 1];
  // Mostly a counter (only increments and puts of numbers write one), else any key: most hold text.
  const counterOr = (share: number): string => (prng.chance(share) ? prng.pick(counterKeys) : prng.pick(keys));
  const value = (key: string): string => {
    let padding = '';
    for (let length = prng.int(24); padding.length < length; ) padding += padAlphabet[prng.int(padAlphabet.length)];
    return valueFor(nextId(), key, padding);
  };
  // The step's own op (a deleteRange may follow it: then there is nothing to decorate).
  if (last?.type === 'put' && prng.chance(0.35)) last.ttl = ttlFor(prng, true);
  if (last?.type === 'put' && prng.chance(0.25)) Object.assign(last, conditionFor(prng));
  if (last?.type === 'delete' && prng.chance(0.35)) last.ifVersion = prng.chance(0.7) ? 'current' : 'stale';
  if (last?.type === 'batch' && prng.chance(0.3)) {
    for (const entry of last.entries) {
      if (entry.value !== undefined && prng.chance(0.25)) entry.ttl = ttlFor(prng, true);
      else if (entry.value === undefined && prng.chance(0.3)) entry.delta = deltaFor(prng);
    }
    if (prng.chance(0.6)) last.checks = checksFor(prng, [...keys, ...counterKeys]);
  }
  if (!prng.chance(0.5)) return;
  switch (weighted(prng, dataOpWeights)) {
    case 'clock': {
      const draw = prng.next();
      const stepMs = draw < 0.75 ? 1 + prng.int(800) : draw < 0.87 ? 1000 + prng.int(5000) : -(1 + prng.int(1500));
      ops.push({ type: 'clock', stepMs });
      // Time passed: now and then active expiry runs at once.
      if (stepMs > 0 && prng.chance(0.3)) ops.push({ type: 'sweep' });
      break;
    }
    case 'sweep':
      ops.push({ type: 'sweep' });
      // Power lost while its record is written, now and then.
      if (prng.chance(0.25)) ops.push({ type: 'crash', afterCalls: 1 + prng.int(6) });
      break;
    case 'increment': {
      const op: SimOp = { type: 'increment', key: counterOr(0.7), delta: deltaFor(prng) };
      if (prng.chance(0.3)) op.ttl = ttlFor(prng, false) as SetTtlSpec;
      ops.push(op);
      break;
    }
    case 'expire': {
      const draw = prng.next();
      ops.push({ type: 'expire', key: counterOr(0.3), ttl: draw < 0.3 ? null : (ttlFor(prng, false) as SetTtlSpec) });
      break;
    }
    case 'number': {
      const key = counterOr(0.6);
      const op: SimOp = { type: 'put', key, value: String(prng.int(100) - 20) };
      if (prng.chance(0.3)) op.ttl = ttlFor(prng, true);
      ops.push(op);
      break;
    }
    case 'conditionalPut': {
      const key = prng.pick(keys);
      const op: SimOp = { type: 'put', key, value: value(key), ...conditionFor(prng) };
      if (prng.chance(0.4)) op.ttl = ttlFor(prng, true);
      ops.push(op);
      break;
    }
    case 'conditionalDelete':
      ops.push({ type: 'delete', key: prng.pick(keys), ifVersion: prng.chance(0.7) ? 'current' : 'stale' });
      break;
    case 'batch': {
      const entries: BatchEntry[] = [];
      for (let count = 1 + prng.int(4), i = 0; i < count; i++) {
        const key = counterOr(0.3);
        const draw = prng.next();
        if (draw < 0.4) entries.push({ key: counterOr(0.7), delta: deltaFor(prng) });
        else if (draw < 0.55) entries.push({ key });
        else {
          const entry: BatchEntry = { key, value: value(key) };
          if (prng.chance(0.4)) entry.ttl = ttlFor(prng, true);
          entries.push(entry);
        }
      }
      // Now and then a batch of checks alone: it writes nothing, and answers whether they hold.
      const op: SimOp = { type: 'batch', entries: prng.chance(0.1) ? [] : entries };
      if (op.entries.length === 0 || prng.chance(0.6)) op.checks = checksFor(prng, [...keys, ...counterKeys]);
      ops.push(op);
      break;
    }
  }
}

type DataOpKind = 'clock' | 'sweep' | 'increment' | 'expire' | 'number' | 'conditionalPut' | 'conditionalDelete' | 'batch';
const dataOpWeights: Array<[DataOpKind, number]> = [
  ['clock', 6],
  ['sweep', 3],
  ['increment', 5],
  ['expire', 4],
  ['number', 2],
  ['conditionalPut', 3],
  ['conditionalDelete', 2],
  ['batch', 3],
];

/** An expiry: mostly a TTL of up to 3 s, sometimes an absolute time (now and then already past), or (puts) the key's own. */
function ttlFor(prng: Prng, keepTtl: boolean): TtlSpec {
  const draw = prng.next();
  if (keepTtl && draw < 0.2) return { keepTtl: true };
  if (draw < 0.65) return { ttlMs: 1 + prng.int(3000) };
  return { expiresInMs: prng.int(3300) - 300 };
}

function conditionFor(prng: Prng): { ifVersion: VersionPick } | { ifAbsent: true } {
  const draw = prng.next();
  if (draw < 0.5) return { ifVersion: 'current' };
  if (draw < 0.7) return { ifVersion: 'stale' };
  return { ifAbsent: true };
}

function deltaFor(prng: Prng): number {
  return prng.int(21) - 5;
}

function checksFor(prng: Prng, keys: readonly string[]): CheckSpec[] {
  const checks: CheckSpec[] = [];
  for (let count = 1 + prng.int(2), i = 0; i < count; i++) {
    const key = prng.pick(keys);
    const draw = prng.next();
    checks.push(draw < 0.55 ? { key, version: 'current' } : draw < 0.7 ? { key, version: 'stale' } : { key, absent: true });
  }
  return checks;
}

/**
 * Latent damage for a reopen at `step`, from its own PRNG so that adding it left every other op of
 * a seed's history as it was. About a third of the reopenings get one flipped bit.
 */
function mediaDamageFor(seed: number, step: number): MediaDamage | undefined {
  const prng = new Prng((seed * 1_000_003 + step) >>> 0);
  if (!prng.chance(mediaDamageShare)) return undefined;
  return { file: prng.int(1 << 16), at: prng.int(1 << 30), bit: prng.int(8) };
}

const mediaDamageShare = 0.3;

/**
 * A deleteRange after the op of `step`, from its own PRNG (as `mediaDamageFor`): about one step in
 * thirty. A prefix, bounds, or everything, sometimes reversed and limited. Not limited in a seed
 * that keeps one snapshot generation: after a salvage lost keys, a limited deleteRange replayed over
 * what was kept may pick other keys than it did (a documented limit of salvage), which the model
 * cannot predict.
 */
function deleteRangeFor(seed: number, step: number, keys: readonly string[], limits: boolean): SimOp | undefined {
  const prng = new Prng((seed * 1_000_033 + step * 7 + 0x0de1) >>> 0);
  if (!prng.chance(1 / 30)) return undefined;
  const range: SimRange = {};
  const shape = prng.int(3);
  if (shape === 0) range.prefix = [...prng.pick(keys)][0];
  if (shape === 1) {
    const [a, b] = [prng.pick(keys), prng.pick(keys)].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    range.gte = a;
    range.lt = b;
  }
  if (prng.chance(0.3)) range.reverse = true;
  const limit = 1 + prng.int(3);
  if (prng.chance(0.4) && limits) range.limit = limit;
  return { type: 'deleteRange', range };
}

/**
 * How a seed keeps its snapshots, from its own PRNG (as `mediaDamageFor`): a quarter keep one
 * generation, where latent damage in a snapshot is salvaged with a loss the check must account for.
 */
function snapshotStorageFor(seed: number): Pick<SimConfig, 'snapshotGenerations' | 'snapshotBlockBytes'> {
  const prng = new Prng((seed ^ 0x5eed_b10c) >>> 0);
  return { snapshotGenerations: prng.pick([1, 2, 2, 3]), snapshotBlockBytes: prng.pick([512, 1024, 4096]) };
}

/** One line per op, for histories. Values show as their write id and length (a number as itself). */
export function formatOp(op: SimOp): string {
  const value = (text: string) =>
    /^-?\d+$/.test(text) ? JSON.stringify(text) : `#${writeIdOf(text) ?? '?'} (${Buffer.byteLength(text)} B)`;
  switch (op.type) {
    case 'put':
      return `put ${op.key} = ${value(op.value)}${formatTtl(op.ttl)}${op.ifVersion ? ` ifVersion ${op.ifVersion}` : ''}${op.ifAbsent ? ' ifAbsent' : ''}`;
    case 'delete':
      return `delete ${op.key}${op.ifVersion ? ` ifVersion ${op.ifVersion}` : ''}`;
    case 'batch': {
      const entries = op.entries.map((entry) => {
        if (entry.delta !== undefined) return `increment ${entry.key} by ${entry.delta}`;
        return entry.value === undefined ? `delete ${entry.key}` : `put ${entry.key} = ${value(entry.value)}${formatTtl(entry.ttl)}`;
      });
      const checks = (op.checks ?? []).map((check) =>
        'absent' in check ? `${check.key} absent` : `${check.key} at ${check.version} version`,
      );
      return `batch [${entries.join(', ')}]${checks.length > 0 ? ` checks [${checks.join(', ')}]` : ''}`;
    }
    case 'deleteRange':
      return `deleteRange ${JSON.stringify(op.range)}`;
    case 'increment':
      return `increment ${op.key} by ${op.delta}${formatTtl(op.ttl)}`;
    case 'expire':
      return `expire ${op.key}${op.ttl === null ? ': none' : formatTtl(op.ttl)}`;
    case 'clock':
      return `clock ${op.stepMs >= 0 ? '+' : ''}${op.stepMs} ms`;
    case 'sweep':
      return 'active expiry runs';
    case 'snapshot':
      return 'snapshot';
    case 'yield':
      return `yield ${op.turns}`;
    case 'settle':
      return 'settle';
    case 'fault':
      return `arm fault: ${op.op} #${op.nth} fails ${op.code}`;
    case 'torn':
      return `arm fault: append #${op.nth} torn`;
    case 'crash':
      return `crash after ${op.afterCalls} fs calls${op.openCrashAfter ? `, reopen crashes after ${op.openCrashAfter}` : ''}${op.flip ? `, reopen flips bits p=${op.flip}` : ''}`;
    case 'reopen':
      return `close + reopen${op.flip ? `, flips bits p=${op.flip}` : ''}${op.damage ? `, a bit flips on disk ${JSON.stringify(op.damage)}` : ''}`;
  }
}

function formatTtl(ttl: TtlSpec | undefined): string {
  if (ttl === undefined) return '';
  if ('keepTtl' in ttl) return ' keepTtl';
  if ('ttlMs' in ttl) return ` ttl ${ttl.ttlMs} ms`;
  return ` expiresAt now${ttl.expiresInMs >= 0 ? '+' : ''}${ttl.expiresInMs} ms`;
}

export function formatHistory(ops: readonly SimOp[]): string {
  const width = String(ops.length).length;
  return ops.map((op, index) => `  ${String(index + 1).padStart(width)}. ${formatOp(op)}`).join('\n');
}
