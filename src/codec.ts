import { InvalidArgumentError } from './errors.js';
import type { EncodableOp, StoredValue } from './types.js';

export type ValueEncoding = 'utf8' | 'json' | 'binary';

/** Maps the values users pass to what the memtable and the log hold, and back. */
export interface Codec<V> {
  readonly encoding: ValueEncoding;
  /** Checks and converts a caller's value; throws InvalidArgumentError. */
  toStored(value: unknown): StoredValue;
  /** What `get` returns: never the memtable's own object, so callers cannot change stored data. */
  fromStored(stored: StoredValue): V;
  /** A value read back from a WAL record or a snapshot: `bytes[start, end)` of a larger buffer. */
  fromBytes(bytes: Buffer, start: number, end: number): StoredValue;
}

const utf8Codec: Codec<string> = {
  encoding: 'utf8',
  toStored(value) {
    if (typeof value !== 'string')
      throw new InvalidArgumentError(`value must be a string with valueEncoding 'utf8', got ${describe(value)}`);
    if (!value.isWellFormed()) throw new InvalidArgumentError('value is not well-formed Unicode (a lone surrogate would not round-trip)');
    return value;
  },
  fromStored: (stored) => stored as string,
  fromBytes: (bytes, start, end) => bytes.toString('utf8', start, end),
};

const jsonCodec: Codec<unknown> = {
  encoding: 'json',
  toStored(value) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      throw new InvalidArgumentError(`value cannot be encoded as JSON: ${(error as Error).message}`, { cause: error });
    }
    if (text === undefined) throw new InvalidArgumentError(`value cannot be encoded as JSON, got ${describe(value)}`);
    if (!text.isWellFormed()) throw new InvalidArgumentError('value contains a lone surrogate and would not round-trip');
    return text;
  },
  // Parsed anew on every read: each caller gets its own object.
  fromStored: (stored) => JSON.parse(stored as string) as unknown,
  fromBytes: (bytes, start, end) => bytes.toString('utf8', start, end),
};

const binaryCodec: Codec<Uint8Array> = {
  encoding: 'binary',
  toStored(value) {
    if (!(value instanceof Uint8Array)) {
      throw new InvalidArgumentError(`value must be a Uint8Array (or Buffer) with valueEncoding 'binary', got ${describe(value)}`);
    }
    return Buffer.from(value); // a private copy: the caller may reuse its buffer
  },
  fromStored: (stored) => Buffer.from(stored as Uint8Array),
  // A copy, so the memtable does not pin the whole segment or snapshot block it came from.
  fromBytes: (bytes, start, end) => Buffer.from(bytes.subarray(start, end)),
};

export function codecFor(encoding: ValueEncoding): Codec<unknown> {
  switch (encoding) {
    case 'utf8':
      return utf8Codec;
    case 'json':
      return jsonCodec;
    case 'binary':
      return binaryCodec as Codec<unknown>;
  }
}

export function storedValueBytes(stored: StoredValue): number {
  return typeof stored === 'string' ? Buffer.byteLength(stored, 'utf8') : stored.byteLength;
}

export interface KeyValueLimits {
  keyBytesMax: number;
  valueBytesMax: number;
}

/** Checks a key and measures it; throws InvalidArgumentError. */
export function checkKey(key: unknown, limits: KeyValueLimits): number {
  if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${describe(key)}`);
  if (!key.isWellFormed()) throw new InvalidArgumentError('key is not well-formed Unicode (it has a lone surrogate)');
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > limits.keyBytesMax) {
    throw new InvalidArgumentError(`key is ${keyBytes} bytes, over keyBytesMax (${limits.keyBytesMax})`);
  }
  return keyBytes;
}

export function preparePut(
  key: unknown,
  value: unknown,
  codec: Codec<unknown>,
  limits: KeyValueLimits,
): Extract<EncodableOp, { type: 'put' }> {
  const keyBytes = checkKey(key, limits);
  if (value === undefined) throw new InvalidArgumentError('value must not be undefined (use delete to remove a key)');
  const stored = codec.toStored(value);
  const valueBytes = storedValueBytes(stored);
  if (valueBytes > limits.valueBytesMax) {
    throw new InvalidArgumentError(`value is ${valueBytes} bytes, over valueBytesMax (${limits.valueBytesMax})`);
  }
  return { type: 'put', key: key as string, keyBytes, value: stored, valueBytes, expiresAt: 0 };
}

export function prepareDelete(key: unknown, limits: KeyValueLimits): Extract<EncodableOp, { type: 'delete' }> {
  const keyBytes = checkKey(key, limits);
  return { type: 'delete', key: key as string, keyBytes };
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'a Uint8Array';
  return typeof value === 'object' ? `an object (${value.constructor?.name ?? 'no prototype'})` : typeof value;
}
