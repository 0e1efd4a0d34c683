import type { JetStreamManager } from '@nats-io/jetstream';
import type { ReplicationHook } from '../store.js';
import { ReplicationFailedError } from '../errors.js';
import type { ReplicaRole } from './role-file.js';
import { readStreamMessage, resumePoint, type StreamTail } from './stream.js';

/**
 * Whether a store's records are a prefix of its group's log. A follower's are (they came from the
 * stream). A leader's are up to where it took the lead; after that, only as far as the stream holds
 * them under its epoch: past that is a tail nobody else has (unshipped, or refused by the fence),
 * and the store must be rebuilt from the group's log before it can follow.
 */
export async function divergence(
  jsm: JetStreamManager,
  group: string,
  role: ReplicaRole | undefined,
  storeSeq: number,
  tail: StreamTail,
): Promise<string | undefined> {
  if (storeSeq === 0) return undefined;
  if (role === undefined) return `it holds ${storeSeq} records that did not come from group ${group}`;
  if (role.group !== group) return `it replicates group ${role.group}, not ${group}`;
  if (role.role === 'follower' || storeSeq <= role.fromSeq) return undefined;
  if (storeSeq > tail.recordSeq) return `records ${Math.max(role.fromSeq, tail.recordSeq) + 1} to ${storeSeq} never reached the stream`;
  const at = await resumePoint(jsm, group, storeSeq - 1, tail);
  const message = at === undefined ? undefined : await readStreamMessage(jsm, group, at);
  if (message?.kind === 'records' && message.epoch === role.epoch && message.firstSeq <= storeSeq) return undefined;
  return `its records after ${role.fromSeq} (epoch ${role.epoch}) are not the stream's`;
}

/**
 * Applies the stream's records after the store's last one, up to the tail: a new leader's catch-up
 * before its epoch marker. Reads message by message (a promoted follower is close to the tail).
 */
export async function catchUp(hook: ReplicationHook, jsm: JetStreamManager, group: string, tail: StreamTail): Promise<void> {
  if (hook.lastSeq >= tail.recordSeq) return;
  const from = await resumePoint(jsm, group, hook.lastSeq, tail);
  if (from === undefined)
    throw new ReplicationFailedError(`the stream of group ${group} no longer holds the records after ${hook.lastSeq}`);
  for (let streamSeq = from; streamSeq <= tail.streamSeq; streamSeq++) {
    const message = await readStreamMessage(jsm, group, streamSeq);
    if (message === undefined) throw new ReplicationFailedError(`the stream of group ${group} lost message ${streamSeq}`);
    if (message.kind === 'records' && message.lastSeq > hook.lastSeq) await hook.applyFrame(message.data);
  }
  if (hook.lastSeq !== tail.recordSeq) {
    throw new ReplicationFailedError(`caught up to record ${hook.lastSeq}, the stream holds up to ${tail.recordSeq}`);
  }
}
