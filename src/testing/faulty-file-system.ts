import type { FileHandle, FileLock, FileSystem, ReadHandle } from '../fs/file-system.js';
import { Prng } from './prng.js';

/** Every file-system call a fault can be attached to. */
export type FaultOp =
  | 'append'
  | 'extend' // FileHandle.extendWithZeros
  | 'sync'
  | 'syncDir'
  | 'rename'
  | 'openAppend'
  | 'openRead'
  | 'readFile'
  | 'read'
  | 'unlink'
  | 'truncate'
  | 'mkdir'
  | 'readdir'
  | 'lock'
  | 'size';

export const FAULT_OPS: readonly FaultOp[] = [
  'append',
  'extend',
  'sync',
  'syncDir',
  'rename',
  'openAppend',
  'openRead',
  'readFile',
  'read',
  'unlink',
  'truncate',
  'mkdir',
  'readdir',
  'lock',
  'size',
];

/** The errors an injected failure carries. */
export type FaultCode = 'EIO' | 'ENOSPC';

/** Narrows a rule to calls whose path (either path, for rename) contains `pathIncludes`. */
export interface FaultFilter {
  pathIncludes?: string;
}

export interface FaultyFileSystemOptions {
  /** The file system the calls go to when no fault fires; typically a `MemoryFileSystem`. */
  inner: FileSystem;
  /** Seeds every random choice (which call fails, how much of a torn write lands, which bit flips). */
  seed: number;
}

export interface FaultStats {
  /** Calls made through the wrapper, per operation (including those that then failed). */
  calls: Record<FaultOp, number>;
  /** Injected failures (`failNth` / `failWithProbability`), per operation. */
  failures: Record<FaultOp, number>;
  tornAppends: number;
  bitFlips: number;
}

/** A file system that can simulate power loss; `MemoryFileSystem` is one. */
interface Crashable {
  crash(): void;
}

type Trigger = { kind: 'nth'; remaining: number } | { kind: 'probability'; p: number };

interface Rule {
  trigger: Trigger;
  pathIncludes?: string;
}

interface FailRule extends Rule {
  op: FaultOp;
  code: FaultCode;
}

/**
 * Wraps a {@link FileSystem} and injects failures, torn appends and bit flips according to a fault
 * plan, every random choice drawn from a seeded {@link Prng} so a failing run replays from its seed.
 *
 * Faults are decided before the inner call, and a failed call never reaches it: a failed rename
 * renamed nothing, a failed sync made nothing durable, a failed append wrote nothing. The one
 * exception is a torn append, which writes a strict prefix and then fails, as the `FileSystem`
 * contract allows. Keeping the model honest this way means a crash after a fault shows exactly the
 * state a real disk could be in.
 *
 * Counting: an `nth` rule counts the calls of its operation that match its filter, starting from when
 * the rule was added, and fires once. Every rule sees every call, so two rules do not shift each
 * other's counts.
 */
export class FaultyFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  readonly #prng: Prng;
  #failRules: FailRule[] = [];
  #tornRules: Rule[] = [];
  #flipRules: Rule[] = [];
  #counters = emptyStats();
  /** Bumped by `crash()`; handles opened in an earlier epoch reject with EBADF. */
  #epoch = 0;

  constructor(options: FaultyFileSystemOptions) {
    this.#inner = options.inner;
    this.#prng = new Prng(options.seed);
  }

  /** The (32-bit) seed; `new FaultyFileSystem({ inner, seed })` with the same plan replays the run. */
  get seed(): number {
    return this.#prng.seed;
  }

  /** The `n`-th (1-based) future call of `op` matching `filter` fails with `code`; the rule then retires. */
  failNth(op: FaultOp, n: number, code: FaultCode = 'EIO', filter: FaultFilter = {}): this {
    this.#failRules.push({ op, code, trigger: nthTrigger(n), ...filter });
    return this;
  }

  /** Each call of `op` matching `filter` fails with `code` with probability `p`. */
  failWithProbability(op: FaultOp, p: number, code: FaultCode = 'EIO', filter: FaultFilter = {}): this {
    this.#failRules.push({ op, code, trigger: probabilityTrigger(p), ...filter });
    return this;
  }

  /** The `n`-th future append matching `filter` writes a random strict prefix, then fails with EIO. */
  tornAppendNth(n: number, filter: FaultFilter = {}): this {
    this.#tornRules.push({ trigger: nthTrigger(n), ...filter });
    return this;
  }

  /** Each append matching `filter` is torn (see `tornAppendNth`) with probability `p`. */
  tornAppendProbability(p: number, filter: FaultFilter = {}): this {
    this.#tornRules.push({ trigger: probabilityTrigger(p), ...filter });
    return this;
  }

  /** Each read (`readFile`, `ReadHandle.read`) matching `filter` returns one flipped bit with probability `p`. */
  flipBitsOnReadProbability(p: number, filter: FaultFilter = {}): this {
    this.#flipRules.push({ trigger: probabilityTrigger(p), ...filter });
    return this;
  }

  /** Removes every rule; counters are kept. */
  clearFaults(): this {
    this.#failRules = [];
    this.#tornRules = [];
    this.#flipRules = [];
    return this;
  }

  /** A copy of the counters so far. */
  stats(): FaultStats {
    return {
      calls: { ...this.#counters.calls },
      failures: { ...this.#counters.failures },
      tornAppends: this.#counters.tornAppends,
      bitFlips: this.#counters.bitFlips,
    };
  }

  /**
   * Power loss: crashes the inner file system if it can (MemoryFileSystem), and invalidates every
   * handle opened through this wrapper. Fault rules and counters carry on.
   */
  crash(): void {
    this.#epoch += 1;
    if (isCrashable(this.#inner)) this.#inner.crash();
  }

  async mkdir(dirPath: string): Promise<void> {
    this.#beforeCall('mkdir', dirPath);
    return this.#inner.mkdir(dirPath);
  }

  async readdir(dirPath: string): Promise<string[]> {
    this.#beforeCall('readdir', dirPath);
    return this.#inner.readdir(dirPath);
  }

  async readFile(filePath: string): Promise<Uint8Array> {
    this.#beforeCall('readFile', filePath);
    return this.#maybeFlipBit(filePath, await this.#inner.readFile(filePath));
  }

  async openRead(filePath: string): Promise<ReadHandle> {
    this.#beforeCall('openRead', filePath);
    const handle = await this.#inner.openRead(filePath);
    const guard = this.#handleGuard(handle);
    return {
      read: async (positionBytes, lengthBytes) => {
        guard.check('read');
        this.#beforeCall('read', filePath);
        return this.#maybeFlipBit(filePath, await handle.read(positionBytes, lengthBytes));
      },
      close: () => guard.close(),
    };
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    this.#beforeCall('openAppend', filePath);
    const handle = await this.#inner.openAppend(filePath, create);
    const guard = this.#handleGuard(handle);
    const extendWithZeros = handle.extendWithZeros;
    return {
      append: async (data) => {
        guard.check('write');
        // Torn rules are advanced before a failure can throw, so they count every append too.
        const torn = this.#fires(this.#tornRules, [filePath]);
        this.#beforeCall('append', filePath);
        if (torn) return this.#tornAppend(handle, filePath, data);
        return handle.append(data);
      },
      sync: async () => {
        guard.check('fdatasync');
        this.#beforeCall('sync', filePath);
        return handle.sync();
      },
      close: () => guard.close(),
      // Offered only when the inner handle has it, so the wrapper never adds a capability.
      ...(extendWithZeros === undefined
        ? {}
        : {
            extendWithZeros: async (toBytes: number) => {
              guard.check('write');
              this.#beforeCall('extend', filePath);
              return extendWithZeros.call(handle, toBytes);
            },
          }),
    };
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    this.#beforeCall('rename', fromPath, toPath);
    return this.#inner.rename(fromPath, toPath);
  }

  async unlink(filePath: string): Promise<void> {
    this.#beforeCall('unlink', filePath);
    return this.#inner.unlink(filePath);
  }

  async truncate(filePath: string, lengthBytes: number): Promise<void> {
    this.#beforeCall('truncate', filePath);
    return this.#inner.truncate(filePath, lengthBytes);
  }

  async size(filePath: string): Promise<number> {
    this.#beforeCall('size', filePath);
    return this.#inner.size(filePath);
  }

  async syncDir(dirPath: string): Promise<void> {
    this.#beforeCall('syncDir', dirPath);
    return this.#inner.syncDir(dirPath);
  }

  async lock(filePath: string): Promise<FileLock> {
    this.#beforeCall('lock', filePath);
    // Locks are the inner file system's business (MemoryFileSystem drops them on crash).
    return this.#inner.lock(filePath);
  }

  /** Counts the call and throws an injected failure if a rule fires; runs before the inner call. */
  #beforeCall(op: FaultOp, ...paths: string[]): void {
    this.#counters.calls[op] += 1;
    const fired = this.#firing(
      this.#failRules.filter((rule) => rule.op === op),
      paths,
    );
    if (fired === undefined) return;
    this.#counters.failures[op] += 1;
    throw faultError(fired.code, op, paths);
  }

  /** Writes a random strict prefix of `data` (0..length-1 bytes), then fails with EIO. */
  async #tornAppend(handle: FileHandle, filePath: string, data: Uint8Array): Promise<never> {
    const prefixBytes = data.byteLength === 0 ? 0 : this.#prng.int(data.byteLength);
    this.#counters.tornAppends += 1;
    if (prefixBytes > 0) await handle.append(data.subarray(0, prefixBytes));
    throw faultError('EIO', 'append', [filePath]);
  }

  #maybeFlipBit(filePath: string, bytes: Uint8Array): Uint8Array {
    if (!this.#fires(this.#flipRules, [filePath]) || bytes.byteLength === 0) return bytes;
    const flipped = bytes.slice(); // never mutate what the inner file system handed out
    const bit = this.#prng.int(flipped.byteLength * 8);
    flipped[bit >> 3] ^= 1 << (bit & 7);
    this.#counters.bitFlips += 1;
    return flipped;
  }

  #fires(rules: Rule[], paths: string[]): boolean {
    return this.#firing(rules, paths) !== undefined;
  }

  /**
   * Advances every matching rule (so counts and PRNG draws do not depend on which rule fires first),
   * retires spent `nth` rules, and returns the first rule that fired.
   */
  #firing<R extends Rule>(rules: R[], paths: string[]): R | undefined {
    let fired: R | undefined;
    for (const rule of rules) {
      if (!matches(rule, paths)) continue;
      if (this.#advance(rule.trigger) && fired === undefined) fired = rule;
    }
    const spent = (rule: Rule) => rule.trigger.kind === 'nth' && rule.trigger.remaining <= 0;
    this.#failRules = this.#failRules.filter((rule) => !spent(rule));
    this.#tornRules = this.#tornRules.filter((rule) => !spent(rule));
    return fired;
  }

  #advance(trigger: Trigger): boolean {
    if (trigger.kind === 'probability') return this.#prng.chance(trigger.p);
    trigger.remaining -= 1;
    return trigger.remaining === 0;
  }

  /** Wraps a handle's validity: after `crash()`, every call on a handle opened before it is EBADF. */
  #handleGuard(handle: { close(): Promise<void> }): { check(syscall: string): void; close(): Promise<void> } {
    const openedEpoch = this.#epoch;
    const crashed = (): boolean => openedEpoch !== this.#epoch;
    return {
      check(syscall) {
        if (crashed()) throw badDescriptor(syscall);
      },
      async close() {
        if (!crashed()) return handle.close();
        // Still release the inner descriptor (a real one would leak), but report the dead handle.
        await handle.close().catch(() => undefined);
        throw badDescriptor('close');
      },
    };
  }
}

function emptyStats(): FaultStats {
  const zeros = (): Record<FaultOp, number> => Object.fromEntries(FAULT_OPS.map((op) => [op, 0])) as Record<FaultOp, number>;
  return { calls: zeros(), failures: zeros(), tornAppends: 0, bitFlips: 0 };
}

function nthTrigger(n: number): Trigger {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  return { kind: 'nth', remaining: n };
}

function probabilityTrigger(p: number): Trigger {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be in [0, 1], got ${p}`);
  return { kind: 'probability', p };
}

function matches(rule: Rule, paths: string[]): boolean {
  const needle = rule.pathIncludes;
  return needle === undefined || paths.some((path) => path.includes(needle));
}

function isCrashable(fs: FileSystem): fs is FileSystem & Crashable {
  return typeof (fs as Partial<Crashable>).crash === 'function';
}

/** The syscall a real failure of each operation would name in its message. */
const SYSCALLS: Record<FaultOp, string> = {
  append: 'write',
  extend: 'write',
  sync: 'fdatasync',
  syncDir: 'fsync',
  rename: 'rename',
  openAppend: 'open',
  openRead: 'open',
  readFile: 'read',
  read: 'read',
  unlink: 'unlink',
  truncate: 'ftruncate',
  mkdir: 'mkdir',
  readdir: 'scandir',
  lock: 'open',
  size: 'stat',
};

const FAULT_MESSAGES: Record<FaultCode, string> = {
  EIO: 'i/o error',
  ENOSPC: 'no space left on device',
};

/** Shaped like a Node system error, e.g. `ENOSPC: no space left on device, write '/db/000001.wal'`. */
function faultError(code: FaultCode, op: FaultOp, paths: string[]): Error {
  const syscall = SYSCALLS[op];
  const where = paths.map((path) => `'${path}'`).join(' -> ');
  const error = new Error(`${code}: ${FAULT_MESSAGES[code]}, ${syscall}${where === '' ? '' : ` ${where}`}`);
  return Object.assign(error, { code, syscall, path: paths[0], ...(paths.length > 1 ? { dest: paths[1] } : {}) });
}

function badDescriptor(syscall: string): Error {
  return Object.assign(new Error(`EBADF: bad file descriptor, ${syscall}`), { code: 'EBADF', syscall });
}
