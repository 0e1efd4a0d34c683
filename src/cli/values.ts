import { InvalidArgumentError } from '../errors.js';
import type { ValueEncoding } from '../codec.js';

/**
 * A key and value as JSON, the form `export` writes one per line, `import` reads and `get --json` prints:
 * `{"key":"k","value":"text"}` for 'utf8', `{"key":"k","value":<any JSON>}` for 'json', and for 'binary'
 * `{"key":"k","value":"<base64>","encoding":"base64"}` (the marker says the string is not the value itself).
 */
export interface ValueRecord {
  key: string;
  value: unknown;
  encoding?: 'base64';
}

export function toRecord(key: string, value: unknown, encoding: ValueEncoding): ValueRecord {
  if (encoding === 'binary') return { key, value: Buffer.from(value as Uint8Array).toString('base64'), encoding: 'base64' };
  return { key, value };
}

/** Reads a record back into a key and a value for the store; `where` names the input line in errors. */
export function fromRecord(record: unknown, encoding: ValueEncoding, where: string): { key: string; value: unknown; expiresAt?: number } {
  const { expiresAt } = (typeof record === 'object' && record !== null ? record : {}) as { expiresAt?: unknown };
  const entry = keyAndValueOf(record, encoding, where);
  if (expiresAt === undefined || expiresAt === null) return entry;
  if (!Number.isSafeInteger(expiresAt) || (expiresAt as number) <= 0) {
    throw new InvalidArgumentError(`${where}: "expiresAt" must be a positive integer of epoch ms`);
  }
  return { ...entry, expiresAt: expiresAt as number };
}

function keyAndValueOf(record: unknown, encoding: ValueEncoding, where: string): { key: string; value: unknown } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new InvalidArgumentError(`${where}: expected an object {"key": ..., "value": ...}`);
  }
  const { key, value, encoding: marker } = record as Record<string, unknown>;
  if (typeof key !== 'string') throw new InvalidArgumentError(`${where}: "key" must be a string`);
  if (value === undefined) throw new InvalidArgumentError(`${where}: "value" is missing`);
  if (marker !== undefined && marker !== 'base64')
    throw new InvalidArgumentError(`${where}: unknown "encoding" ${JSON.stringify(marker)} (only "base64")`);
  if (marker === 'base64') {
    if (encoding !== 'binary') throw new InvalidArgumentError(`${where}: the value is base64 binary; import it with --encoding binary`);
    if (typeof value !== 'string') throw new InvalidArgumentError(`${where}: a base64 "value" must be a string`);
    return { key, value: decodeBase64(value, where) };
  }
  if (encoding === 'binary') {
    // A plain string under --encoding binary stands for its UTF-8 bytes.
    if (typeof value !== 'string')
      throw new InvalidArgumentError(
        `${where}: with --encoding binary, "value" must be a string (base64 with "encoding":"base64", or text)`,
      );
    return { key, value: Buffer.from(value, 'utf8') };
  }
  if (encoding === 'utf8' && typeof value !== 'string') {
    throw new InvalidArgumentError(`${where}: with --encoding utf8, "value" must be a string (use --encoding json for other JSON values)`);
  }
  return { key, value };
}

function decodeBase64(text: string, where: string): Buffer {
  // Buffer.from(…, 'base64') skips characters it does not know; check the text really is base64.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
    throw new InvalidArgumentError(`${where}: "value" is not valid base64`);
  return Buffer.from(text, 'base64');
}

/**
 * A value given on the command line or stdin, as the store takes it under `encoding`: 'utf8' text
 * (stdin must be valid UTF-8), 'json' parsed from its text, 'binary' the bytes as they are.
 */
export function valueFromInput(bytes: Buffer, encoding: ValueEncoding, source: string): unknown {
  if (encoding === 'binary') return bytes;
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes))
    throw new InvalidArgumentError(`${source} is not valid UTF-8; use --encoding binary for bytes`);
  if (encoding === 'utf8') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`${source} is not valid JSON (--encoding json): ${(error as Error).message}`);
  }
}

/** A value as `get` prints it for a person: text as is, JSON as JSON; bytes go out raw. */
export function valueForOutput(value: unknown, encoding: ValueEncoding): string | Uint8Array {
  if (encoding === 'binary') return value as Uint8Array;
  if (encoding === 'json') return `${JSON.stringify(value)}\n`;
  return `${value as string}\n`;
}
