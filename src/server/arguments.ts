/**
 * Reading command arguments the way Redis does, and the errors it gives for bad ones. A handler
 * throws `ReplyError`; the connection turns it into the error reply, and nothing is written.
 */
import type { Buffer } from 'node:buffer';

/** An error reply: `message` begins with its code word (`ERR`, `WRONGPASS`, …). */
export class ReplyError extends Error {}

export const notAnInteger = 'ERR value is not an integer or out of range';
export const syntaxError = 'ERR syntax error';

/**
 * A decimal integer as Redis's string2ll reads it — an optional minus, digits, no leading zeros, no
 * spaces or plus sign — within ±(2^53 − 1): the store's numbers are JavaScript's safe integers,
 * where Redis's are 64-bit (README: larger values are refused with the same error).
 */
export function integerArg(arg: Buffer, message = notAnInteger): number {
  const text = arg.toString('latin1');
  if (!/^(0|-?[1-9][0-9]{0,15})$/.test(text)) throw new ReplyError(message);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new ReplyError(message);
  return value;
}

/** A time for EX/PX/EXPIRE…: a positive integer, else Redis's "invalid expire time in '<command>' command". */
export function expireTimeArg(arg: Buffer, command: string): number {
  const value = integerArg(arg);
  if (value <= 0) throw new ReplyError(`ERR invalid expire time in '${command}' command`);
  return value;
}

export function wrongArity(command: string): string {
  return `ERR wrong number of arguments for '${command}' command`;
}
