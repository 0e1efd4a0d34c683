import path from 'node:path';
import type { FileSystem } from '../fs/file-system.js';
import { ReplicationFailedError } from '../errors.js';

/**
 * What a store's records are, as far as its group is concerned, kept in `replication.json` beside
 * the store's files. A follower's records all came from the stream. A leader's came from the stream
 * up to `fromSeq`, and after it are its own, shipped (or not yet) under `epoch`: when it rejoins as
 * a follower, its records past what the stream holds of that epoch are a tail nobody else has.
 * Written (durably) before a replica applies its first record or a leader takes its first write.
 */
export type ReplicaRole = { role: 'follower'; group: string } | { role: 'leader'; group: string; epoch: number; fromSeq: number };

export const roleFileName = 'replication.json';

export async function readRole(fs: FileSystem, dir: string): Promise<ReplicaRole | undefined> {
  const file = path.join(dir, roleFileName);
  const names = await fs.readdir(dir);
  if (!names.includes(roleFileName)) return undefined;
  const text = Buffer.from(await fs.readFile(file)).toString('utf8');
  try {
    const role = JSON.parse(text) as ReplicaRole;
    if ((role.role === 'follower' || role.role === 'leader') && typeof role.group === 'string') return role;
  } catch {
    // judged below
  }
  throw new ReplicationFailedError(`${file} is damaged: ${JSON.stringify(text.slice(0, 200))}`);
}

/** Replaces the role file: a new file, synced, renamed over the old one, the directory synced. */
export async function writeRole(fs: FileSystem, dir: string, role: ReplicaRole): Promise<void> {
  const file = path.join(dir, roleFileName);
  const temporary = `${file}.tmp`;
  const handle = await fs.openAppend(temporary, 'truncate');
  try {
    await handle.append(Buffer.from(`${JSON.stringify(role)}\n`));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temporary, file);
  await fs.syncDir(dir);
}
