/**
 * The store calls commands share: errors from the store as Redis error replies, and the
 * read-then-write loop that makes a command atomic on the store's versions.
 */
import { DurableKVError } from '../errors.js';
import type { Entry } from '../read-view.js';
import type { WriteResult } from '../types.js';
import { notAnInteger, ReplyError } from './arguments.js';
import type { CommandStore } from './transaction-view.js';

/**
 * Attempts of one read-then-write before giving up: each retry means another client wrote the key
 * in between, so progress was made; a key that hot for this long is a client bug, not a race.
 */
export const conditionalWriteAttemptsMax = 1_000;

/**
 * Redis's error reply for a store error. Anything else is a bug here, answered as an internal error
 * (with its message) so that the server, and the connection, survive it.
 */
export function replyErrorFor(error: unknown): ReplyError {
  if (error instanceof ReplyError) return error;
  if (!(error instanceof DurableKVError))
    return new ReplyError(`ERR internal error: ${error instanceof Error ? error.message : String(error)}`);
  switch (error.code) {
    case 'ERR_NOT_A_NUMBER':
      return new ReplyError(notAnInteger);
    case 'ERR_NOT_LEADER': {
      // Redis's reply from a read-only replica, which clients know; then who leads, when known.
      const leader = (error as { leader?: string }).leader;
      return new ReplyError(
        `READONLY You can't write against a read only replica.${leader === undefined ? '' : ` The leader is ${leader}.`}`,
      );
    }
    case 'ERR_STORE_FAILED':
      // Redis's reply when its log cannot be written: writes are refused until an operator acts.
      return new ReplyError(`MISCONF ${error.message}`);
    default:
      return new ReplyError(`ERR ${error.message}`);
  }
}

/**
 * Reads the key's entry, lets `write` decide, and retries while another writer changed the key in
 * between (the write is conditional on the version read, or on absence). `write` returns the write
 * it wants (or undefined: no write) and the result to give; it must not have side effects.
 */
export async function updateKey<T>(
  store: CommandStore,
  key: string,
  write: (entry: Entry<string> | undefined) => { result: T; commit?: (condition: Condition) => Promise<WriteResult> },
): Promise<T> {
  for (let attempt = 0; attempt < conditionalWriteAttemptsMax; attempt++) {
    const entry = store.getEntry(key);
    const decision = write(entry);
    if (decision.commit === undefined) return decision.result;
    const condition: Condition = entry === undefined ? { ifAbsent: true } : { ifVersion: entry.version };
    const written = await decision.commit(condition);
    if (written.ok) return decision.result;
  }
  throw new ReplyError(`ERR key changed by other clients ${conditionalWriteAttemptsMax} times in a row; not written`);
}

export type Condition = { ifAbsent: true } | { ifVersion: number };
