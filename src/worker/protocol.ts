/**
 * The messages between a `RemoteStore` (client, any thread) and `serveStore` (owner thread) over one
 * MessagePort. Both sides are in this package, so the protocol has no version: it only has to agree
 * with itself within one build.
 *
 * Request:  { id, method, args }                  client -> owner
 * Reply:    { id, ok: true, result }              owner -> client
 *           { id, ok: false, error: WireError }
 *
 * `id` is the client's, unique among its pending calls; replies may arrive in any order.
 *
 * A range walk is three methods (see `RangePage`):
 *   rangeOpen  [kind, options, pageSize?]  -> the first page, and a cursor if more remains
 *   rangeNext  [cursor]                    -> the next page; the cursor is freed with the last one
 *   rangeClose [cursor]                    -> frees the cursor (one already freed is no error)
 */
import {
  ChangesUnavailableError,
  DurableKVError,
  InvalidArgumentError,
  NotLeaderError,
  ReplicationFailedError,
  NotANumberError,
  NoStoreError,
  StoreExistsError,
  StoreClosedError,
  StoreCorruptError,
  StoreFailedError,
  StoreLockedError,
  StoreOverloadedError,
  type ErrorCode,
} from '../errors.js';

export const storeMethods = [
  'put',
  'get',
  'getEntry',
  'has',
  'delete',
  'batch',
  'increment',
  'expire',
  'deleteRange',
  'snapshot',
  'backup',
  'stats',
  'rangeOpen',
  'rangeNext',
  'rangeClose',
] as const;
/**
 * What a request asks the owner to do: a store method of the same name, or a step of a range walk
 * (`rangeOpen`, `rangeNext`, `rangeClose`).
 */
export type StoreMethod = (typeof storeMethods)[number];

/** What a range walk yields: `range` and `entries` yield entries, `keys` keys and `values` values. */
export const rangeKinds = ['entries', 'keys', 'values'] as const;
export type RangeKind = (typeof rangeKinds)[number];

/**
 * One page of a range walk, in walk order: `keys` for 'keys' and 'entries', `values` (binary ones
 * made `sendable`) for 'values' and 'entries', in parallel. `cursor` is set while the owner holds
 * the rest of the walk; undefined once this page is the last (the owner then holds nothing).
 */
export interface RangePage {
  keys?: string[];
  values?: unknown[];
  cursor: number | undefined;
}

export interface StoreRequest {
  id: number;
  method: StoreMethod;
  args: unknown[];
}

export type StoreReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: WireError };

/**
 * An error as it crosses the port. `code` is undefined for errors that are not DurableKVErrors (a bug,
 * a TypeError); `fields` carries their own string and number properties (StoreLockedError.dir,
 * StoreCorruptError.file/offset/reason, an errno error's code and syscall). The stack and `cause`
 * stay on the owner.
 */
export interface WireError {
  code: ErrorCode | undefined;
  message: string;
  name: string;
  fields?: Record<string, string | number>;
}

export function isStoreRequest(message: unknown): message is StoreRequest {
  if (typeof message !== 'object' || message === null) return false;
  const { id, method, args } = message as Partial<StoreRequest>;
  return Number.isSafeInteger(id) && storeMethods.includes(method as StoreMethod) && Array.isArray(args);
}

export function isStoreReply(message: unknown): message is StoreReply {
  if (typeof message !== 'object' || message === null) return false;
  const { id, ok } = message as Partial<StoreReply>;
  return Number.isSafeInteger(id) && typeof ok === 'boolean';
}

export function toWireError(error: unknown): WireError {
  if (!(error instanceof Error)) return { code: undefined, message: String(error), name: 'Error' };
  const code = error instanceof DurableKVError ? error.code : undefined;
  const fields: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(error)) {
    if (name === 'name' || (name === 'code' && code !== undefined)) continue;
    if (typeof value === 'string' || typeof value === 'number') fields[name] = value;
  }
  return { code, message: error.message, name: error.name, fields };
}

/** Re-creates each code as its own class, so `instanceof` and `code` work as on the owner. */
const rebuild: { [C in ErrorCode]: (wire: WireError, fields: Record<string, string | number>) => DurableKVError } = {
  ERR_INVALID_ARG: (wire) => new InvalidArgumentError(wire.message),
  ERR_STORE_CLOSED: (wire) => new StoreClosedError(wire.message),
  ERR_STORE_LOCKED: (_wire, fields) => new StoreLockedError(String(fields.dir ?? '')),
  ERR_STORE_CORRUPT: (_wire, fields) =>
    new StoreCorruptError(String(fields.file ?? ''), Number(fields.offset ?? -1), String(fields.reason ?? '')),
  ERR_STORE_FAILED: (wire) => new StoreFailedError(wire.message),
  ERR_STORE_OVERLOADED: (wire) => new StoreOverloadedError(wire.message),
  ERR_NOT_A_NUMBER: (wire, fields) => new NotANumberError(String(fields.key ?? ''), wire.message),
  ERR_NO_STORE: (_wire, fields) => new NoStoreError(String(fields.dir ?? '')),
  ERR_STORE_EXISTS: (_wire, fields) => new StoreExistsError(String(fields.dir ?? '')),
  ERR_CHANGES_UNAVAILABLE: (wire, fields) =>
    new ChangesUnavailableError(wire.message, typeof fields.oldestSeq === 'number' ? fields.oldestSeq : undefined),
  // The server's codes: never a store call's, listed for completeness.
  ERR_UNSAFE_BIND: (wire) => new DurableKVError('ERR_UNSAFE_BIND', wire.message),
  ERR_LISTEN: (wire) => new DurableKVError('ERR_LISTEN', wire.message),
  // A store that a worker serves may be a replica: its writes can be refused by replication.
  ERR_NOT_LEADER: (wire, fields) => new NotLeaderError(wire.message, typeof fields.leader === 'string' ? fields.leader : undefined),
  ERR_REPLICATION_FAILED: (wire) => new ReplicationFailedError(wire.message),
};

export function fromWireError(wire: WireError): Error {
  const fields = wire.fields ?? {};
  const make = wire.code === undefined ? undefined : rebuild[wire.code];
  if (make === undefined) return Object.assign(new Error(wire.message), fields, { name: wire.name });
  const error = make(wire, fields);
  error.message = wire.message; // the owner's exact text: some classes build theirs from the fields
  return error;
}

/**
 * What to send for a value: a Uint8Array is copied into an ArrayBuffer of its own, which is then
 * transferred. Cloning a view would copy its whole backing buffer (for a small Buffer, Node's shared
 * 8 KiB pool, with other data in it); transferring the caller's own buffer would detach it.
 */
export function sendable(value: unknown, transfer: ArrayBuffer[]): unknown {
  if (!(value instanceof Uint8Array)) return value;
  const copy = new Uint8Array(value);
  transfer.push(copy.buffer);
  return copy;
}
