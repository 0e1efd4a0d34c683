/**
 * Channels and patterns for SUBSCRIBE, PSUBSCRIBE and PUBLISH, shared by the server's connections.
 * A message goes to every connection subscribed to its channel, and once per matching pattern, as
 * in Redis. Nothing is stored: a connection that is not subscribed when a message is published never
 * sees it.
 */
import { Buffer } from 'node:buffer';
import { compileGlob, type GlobMatcher } from './glob.js';
import { bulkReply, pushReply, type Protocol, type Reply } from './reply.js';

/** A connection, as pub/sub sees it. */
export interface Subscriber {
  readonly protocol: Protocol;
  /** Queues an out-of-band message (a push in RESP3, an array in RESP2). */
  deliver(message: Reply): void;
}

/** Channel and pattern names are bytes; kept as one character per byte so that any name is a Map key. */
const nameOf = (bytes: Buffer) => bytes.toString('latin1');

export class PubSub {
  readonly #channels = new Map<string, Set<Subscriber>>();
  readonly #patterns = new Map<string, { pattern: Buffer; matches: GlobMatcher; subscribers: Set<Subscriber> }>();

  subscribe(subscriber: Subscriber, channel: Buffer): void {
    const name = nameOf(channel);
    let subscribers = this.#channels.get(name);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#channels.set(name, subscribers);
    }
    subscribers.add(subscriber);
  }

  unsubscribe(subscriber: Subscriber, channel: Buffer): void {
    const name = nameOf(channel);
    const subscribers = this.#channels.get(name);
    subscribers?.delete(subscriber);
    if (subscribers?.size === 0) this.#channels.delete(name);
  }

  psubscribe(subscriber: Subscriber, pattern: Buffer): void {
    const name = nameOf(pattern);
    let entry = this.#patterns.get(name);
    if (entry === undefined) {
      const copy = Buffer.from(pattern);
      // Compiled once; Redis's pub/sub has no "*" shortcut (compileGlob's), which differs only for an empty channel.
      const matches: GlobMatcher = copy.length === 1 && copy[0] === 0x2a ? (channel) => channel.length > 0 : compileGlob(copy);
      entry = { pattern: copy, matches, subscribers: new Set() };
      this.#patterns.set(name, entry);
    }
    entry.subscribers.add(subscriber);
  }

  punsubscribe(subscriber: Subscriber, pattern: Buffer): void {
    const name = nameOf(pattern);
    const entry = this.#patterns.get(name);
    entry?.subscribers.delete(subscriber);
    if (entry?.subscribers.size === 0) this.#patterns.delete(name);
  }

  /** Whether anyone would receive a message on `channel` (keyspace events skip building it otherwise). */
  listening(): boolean {
    return this.#channels.size > 0 || this.#patterns.size > 0;
  }

  /** Delivers `message` on `channel`; how many deliveries that made (PUBLISH's reply). */
  publish(channel: Buffer, message: Buffer | string): number {
    let receivers = 0;
    for (const subscriber of this.#channels.get(nameOf(channel)) ?? []) {
      subscriber.deliver(pushReply([bulkReply('message'), bulkReply(channel), bulkReply(message)], subscriber.protocol));
      receivers++;
    }
    for (const { pattern, matches, subscribers } of this.#patterns.values()) {
      if (!matches(channel)) continue;
      for (const subscriber of subscribers) {
        subscriber.deliver(
          pushReply([bulkReply('pmessage'), bulkReply(pattern), bulkReply(channel), bulkReply(message)], subscriber.protocol),
        );
        receivers++;
      }
    }
    return receivers;
  }
}
