import type { MsgHdrs } from '@nats-io/transport-node';
import { epochHeader, firstSeqHeader, instanceHeader, kindHeader, lastSeqHeader, leaderHeader } from './names.js';

/** A message of a group's stream, its headers read and checked (see names.ts). */
export type LogMessage =
  | { kind: 'records'; streamSeq: number; epoch: number; firstSeq: number; lastSeq: number; data: Uint8Array; timestampMs: number }
  | { kind: 'epoch'; streamSeq: number; epoch: number; lastSeq: number; leader: string; instance: string; timestampMs: number };

/** Reads a stream message's headers; undefined (with why) for one that is not ours or is damaged. */
export function readLogMessage(
  streamSeq: number,
  headers: MsgHdrs | undefined,
  data: Uint8Array,
  timestampMs: number,
): LogMessage | { invalid: string } {
  const kind = headers?.get(kindHeader);
  const epoch = seqHeader(headers, epochHeader);
  const lastSeq = seqHeader(headers, lastSeqHeader);
  if (epoch === undefined || epoch < 1 || lastSeq === undefined)
    return { invalid: `stream message ${streamSeq} lacks its epoch or seq headers` };
  if (kind === 'epoch') {
    const leader = headers?.get(leaderHeader) ?? '';
    return { kind, streamSeq, epoch, lastSeq, leader, instance: headers?.get(instanceHeader) ?? '', timestampMs };
  }
  const firstSeq = seqHeader(headers, firstSeqHeader);
  if (kind !== 'records' || firstSeq === undefined || firstSeq < 1 || firstSeq > lastSeq) {
    return { invalid: `stream message ${streamSeq} is neither records nor an epoch marker` };
  }
  return { kind, streamSeq, epoch, firstSeq, lastSeq, data, timestampMs };
}

function seqHeader(headers: MsgHdrs | undefined, name: string): number | undefined {
  const text = headers?.get(name);
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}
