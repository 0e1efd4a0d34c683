import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

/** The key the leader's lease lives under, in the bucket `dkv_lease_<group>`. */
const leaseKey = 'leader';

/**
 * Who *tries* to lead a group: a key in a JetStream KV bucket whose entries expire `ttlMs` after
 * they were written. A node takes the lease with `create` (only if nobody holds it) and keeps it
 * with `update` against the revision it holds; a node that stops renewing (dead, paused, cut off)
 * loses it after the TTL. For liveness only: two nodes may both believe they hold it for a moment
 * (nats-server < 2.9.21 checks `create`'s expectation on the stream leader only, issue #4320, and
 * clocks differ); the epoch marker's fence on the stream decides who leads.
 */
export class Lease {
  readonly #kv: KV;
  readonly ttlMs: number;

  private constructor(kv: KV, ttlMs: number) {
    this.#kv = kv;
    this.ttlMs = ttlMs;
  }

  static async open(connection: NatsConnection, group: string, ttlMs: number, replicas: number): Promise<Lease> {
    const kvm = new Kvm(connection);
    const bucket = `dkv_lease_${group}`;
    const kv = await kvm.create(bucket, { ttl: ttlMs, history: 1, replicas }).catch(() => kvm.open(bucket));
    return new Lease(kv, ttlMs);
  }

  /** The current holder's name and the revision of its lease, or undefined when nobody holds it. */
  async holder(): Promise<{ name: string; revision: number } | undefined> {
    const entry = await this.#kv.get(leaseKey);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return { name: entry.string(), revision: entry.revision };
  }

  /** Takes the lease if nobody holds it: its revision, or undefined if someone else was first. */
  async acquire(name: string): Promise<number | undefined> {
    return this.#kv.create(leaseKey, name).catch(() => undefined);
  }

  /** Renews a lease held at `revision`: the new revision, or undefined if it was lost meanwhile. */
  async renew(name: string, revision: number): Promise<number | undefined> {
    return this.#kv.update(leaseKey, name, revision).catch(() => undefined);
  }

  /** Gives a held lease up at once (a clean step-down), so another node need not wait for the TTL. */
  async release(revision: number): Promise<void> {
    await this.#kv.delete(leaseKey, { previousSeq: revision }).catch(() => undefined);
  }
}
