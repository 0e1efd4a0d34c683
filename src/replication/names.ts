/**
 * How a replication group is laid out in NATS, stated once: the stream, its subject, the headers of
 * its messages and their ids. Nothing else publishes to a group's stream.
 *
 *   stream  DKV_<group>            file storage, no age or count limit
 *   subject dkv.<group>.log
 *   two kinds of message, told apart by the Dkv-Kind header:
 *     records   one or more consecutive committed records (format/replication-frame.ts), headers
 *               Dkv-Epoch (the leader's), Dkv-First-Seq and Dkv-Last-Seq (their record seqs);
 *               Nats-Msg-Id <group>:<epoch>:<firstSeq>
 *     epoch     a new leader's marker, no payload but JSON about the leader: Dkv-Epoch (one more than
 *               any before it), Dkv-Last-Seq (the last record seq in the stream when it took over),
 *               Dkv-Leader (its name), Dkv-Instance (this run of it, unique even when two nodes
 *               share a name); Nats-Msg-Id <group>:<epoch>:epoch:<instance>
 *   every message is published with Nats-Expected-Last-Sequence = the stream seq of the message
 *   before it: a leader that missed a message (a zombie) is refused, in Raft order.
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';

export const kindHeader = 'Dkv-Kind';
export const epochHeader = 'Dkv-Epoch';
export const firstSeqHeader = 'Dkv-First-Seq';
export const lastSeqHeader = 'Dkv-Last-Seq';
export const leaderHeader = 'Dkv-Leader';
export const instanceHeader = 'Dkv-Instance';

export type LogMessageKind = 'records' | 'epoch';

const groupPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** A group name: letters, digits, '-' and '_' (it becomes part of a stream name and a subject). */
export function checkGroup(group: unknown): string {
  if (typeof group !== 'string' || !groupPattern.test(group)) {
    throw new InvalidArgumentError(`group must be 1 to 64 letters, digits, '-' or '_', got ${JSON.stringify(group)}`);
  }
  return group;
}

export function streamName(group: string): string {
  return `DKV_${group}`;
}

export function subjectOf(group: string): string {
  return `dkv.${group}.log`;
}

export function recordsMsgId(group: string, epoch: number, firstSeq: number): string {
  return `${group}:${epoch}:${firstSeq}`;
}

/** `instance`: this run of the node, unique even between nodes that share a name. */
export function epochMsgId(group: string, epoch: number, instance: string): string {
  return `${group}:${epoch}:epoch:${instance}`;
}

/** A fresh id for one run of a node: what tells two nodes apart when they share a name. */
export function newInstanceId(): string {
  return randomUUID();
}
