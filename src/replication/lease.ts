import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface LeaseHolder {
  name: string;
  instance: string;
  revision: number;
}

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

  /** The current holder (its name, and the run of it, `instance`) and its lease's revision; undefined when nobody holds it. */
  async holder(): Promise<LeaseHolder | undefined> {
    const entry = await this.#kv.get(leaseKey);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    try {
      const { name, instance } = JSON.parse(entry.string()) as { name?: unknown; instance?: unknown };
      if (typeof name === 'string' && typeof instance === 'string') return { name, instance, revision: entry.revision };
    } catch {
      // not ours: treated as held by an unknown node, which expires like any other
    }
    return { name: '', instance: '', revision: entry.revision };
  }

  /** Takes the lease if nobody holds it: its revision, or undefined if someone else was first. */
  async acquire(holder: Omit<LeaseHolder, 'revision'>): Promise<number | undefined> {
    return this.#kv.create(leaseKey, JSON.stringify(holder)).catch(() => undefined);
  }

  /**
   * Renews a lease held at `revision`: the new revision; 'lost' when another revision is there (it
   * expired and someone took it); 'unknown' when NATS did not answer (try again while the lease lasts).
   */
  async renew(holder: Omit<LeaseHolder, 'revision'>, revision: number): Promise<number | 'lost' | 'unknown'> {
    try {
      return await this.#kv.update(leaseKey, JSON.stringify(holder), revision);
    } catch (error) {
      return /wrong last sequence|10071/i.test(`${(error as Error).message} ${(error as { code?: unknown }).code}`) ? 'lost' : 'unknown';
    }
  }

  /** Gives a held lease up at once (a clean step-down), so another node need not wait for the TTL. */
  async release(revision: number): Promise<void> {
    await this.#kv.delete(leaseKey, { previousSeq: revision }).catch(() => undefined);
  }
}
