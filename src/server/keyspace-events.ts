/**
 * Keyspace notifications (`CONFIG SET notify-keyspace-events`), fed from the store's change feed:
 * every committed write, whichever client or process (or the store's own API) made it, is published
 * on `__keyspace@0__:<key>` (the event as the message) and/or `__keyevent@0__:<event>` (the key as
 * the message), as Redis does. The feed gives effects, not commands: a put is "set" (and "expire"
 * when it sets an expiry), whatever command made it (INCR, APPEND, …); a delete is "del", or
 * "expired" when active expiry removed it; an expiry change is "expire" or "persist". FLUSHDB and
 * range deletes publish nothing, as FLUSHDB publishes nothing in Redis.
 */
import { Buffer } from 'node:buffer';
import type { Subscription } from 'rxjs';
import type { ChangeOp } from '../change-feed.js';
import type { DurableKVStore } from '../store.js';
import { ReplyError } from './arguments.js';
import { bytesOf } from './byte-text.js';
import type { PubSub } from './pubsub.js';

/** Redis's event classes; `A` is all of g$lshzxetd. The ones a string store can raise: g, $, x. */
const classes = 'g$lshzxetdmn';
const aliasAll = 'g$lshzxetd';

export class KeyspaceEvents {
  readonly #store: DurableKVStore<string>;
  readonly #pubsub: PubSub;
  #flags = '';
  #subscription: Subscription | undefined;

  constructor(store: DurableKVStore<string>, pubsub: PubSub) {
    this.#store = store;
    this.#pubsub = pubsub;
  }

  /** The setting as CONFIG GET shows it (Redis's normal form). */
  get flags(): string {
    return this.#flags;
  }

  /** CONFIG SET notify-keyspace-events: validates, then starts or stops following the feed. */
  configure(value: string): void {
    const flags = normalized(value);
    const on = flags.includes('K') || flags.includes('E');
    if (on && this.#subscription === undefined) {
      // From the last committed write on: notifications are live, never replayed.
      this.#subscription = this.#store.changes({ since: this.#store.stats().lastSeq }).subscribe({
        next: (change) => {
          // Nothing here may throw into rxjs (it would be an uncaught error): a bug costs the event, not the server.
          try {
            for (const op of change.ops) this.#publish(op);
          } catch {}
        },
        // The feed ends with the store (closed or failed): notifications stop; the server goes on.
        error: () => {
          this.#subscription = undefined;
        },
      });
    } else if (!on) this.stop();
    this.#flags = flags; // only once the feed is running (a closed store refuses CONFIG SET and keeps the old value)
  }

  stop(): void {
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  #publish(op: ChangeOp<string>): void {
    if (op.type === 'deleteRange' || !this.#pubsub.listening()) return;
    const key = bytesOf(op.key);
    if (op.type === 'put') {
      this.#emit('$', 'set', key);
      if (op.expiresAt !== null) this.#emit('g', 'expire', key);
    } else if (op.type === 'delete') {
      if (op.expired === true) this.#emit('x', 'expired', key);
      else this.#emit('g', 'del', key);
    } else {
      this.#emit('g', op.expiresAt === null ? 'persist' : 'expire', key);
    }
  }

  #emit(eventClass: string, event: string, key: Buffer): void {
    const flags = this.#flags;
    if (!flags.includes(eventClass) && !(flags.includes('A') && aliasAll.includes(eventClass))) return;
    if (flags.includes('K')) this.#pubsub.publish(Buffer.concat([Buffer.from('__keyspace@0__:'), key]), event);
    if (flags.includes('E')) this.#pubsub.publish(Buffer.from(`__keyevent@0__:${event}`), key);
  }
}

/** Redis's parse and print of the setting (keyspaceEventsStringToFlags / keyspaceEventsFlagsToString). */
function normalized(value: string): string {
  const seen = new Set<string>();
  for (const char of value) {
    if (char === 'A') for (const each of aliasAll) seen.add(each);
    else if (classes.includes(char) || char === 'K' || char === 'E') seen.add(char);
    else {
      throw new ReplyError(
        "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
      );
    }
  }
  // Classes in Redis's order (A for all of g$lshzxetd, which then leaves n out too), then K, E, and m last.
  const all = [...aliasAll].every((each) => seen.has(each));
  let text = all ? 'A' : [...`${aliasAll}n`].filter((each) => seen.has(each)).join('');
  if (seen.has('K')) text += 'K';
  if (seen.has('E')) text += 'E';
  if (seen.has('m')) text += 'm';
  return text;
}
