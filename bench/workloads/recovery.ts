import { performance } from 'node:perf_hooks';
import { drive } from '../lib/drive.js';
import { directoryBytes } from '../lib/disk.js';
import { timed } from '../lib/windows.js';
import { keyFor, keysFor, makeValues } from '../lib/data.js';
import { openStore, storeOpener } from '../stores/store.js';
import type { Workload } from './workload.js';

/**
 * W7: recovery of N keys from a snapshot plus N WAL records (each key overwritten once by a single
 * put), opened in a fresh process. For raw: the replay of its log, which holds the same 2N records.
 * The files were just written, so they are read from the page cache for every store alike.
 */
export const w7: Workload = {
  id: 'W7',
  title: 'recovery: N-key snapshot + N WAL records',
  stores: ['durable-kv', 'raw'],
  metrics: [
    { key: 'recovery_ms', label: 'recovery time', better: 'lower', unit: 'ms' },
    { key: 'mb_s', label: 'recovery rate', better: 'higher', unit: 'MB/s' },
    { key: 'snapshot_ms', label: 'of which: snapshot load', better: 'lower', unit: 'ms' },
    { key: 'wal_block_load_ms', label: 'of which: snapshot blocks decoded for the WAL', better: 'lower', unit: 'ms' },
    { key: 'wal_mb_s', label: 'WAL replay rate, those blocks apart', better: 'higher', unit: 'MB/s' },
  ],
  async prepare({ store: name, dir, sizes }) {
    const values = makeValues();
    const keys = keysFor(sizes.w7Keys);
    const store = await openStore(name, dir, { durable: false, autoSnapshot: false });
    await store.load(
      sizes.w7Keys,
      (i) => keys[i],
      (i) => values[i & 255],
    );
    await store.snapshot?.();
    await drive({ clients: 256, total: sizes.w7Keys, deadlineMs: 600_000, op: (i) => store.put(keys[i], values[(i + 1) & 255]) });
    await store.close();
  },
  async measure({ store: name, dir, sizes }) {
    const values = makeValues();
    const disk = await directoryBytes(dir);
    const open = await storeOpener(name);
    const startedAt = performance.now();
    const store = await timed('recovery', () => open(dir, { durable: true, autoSnapshot: false }));
    const ms = performance.now() - startedAt;
    const last = sizes.w7Keys - 1;
    if (store.get(keyFor(last)) !== values[(last + 1) & 255]) throw new Error('recovery lost the last overwrite');
    const info = store.info?.();
    await store.close();
    return { metrics: { recovery_ms: ms, mb_s: disk.logical / 1e6 / (ms / 1000), bytes: disk.logical, ...recoverySplit(info) }, info };
  },
};

interface RecoveryTimes {
  snapshot?: { bytes: number };
  bytesRead: number;
  snapshotMs?: number;
  walMs?: number;
  walBlockLoadMs?: number;
}

/**
 * durable-kv's recovery report splits the open: the snapshot's read and check; the snapshot blocks
 * that replayed WAL records decoded (the open leaves blocks undecoded, and this WAL rewrites every
 * key, so every block is decoded during the replay); and the WAL's own read and replay (its bytes
 * over its time, those blocks apart). Other stores report nothing here.
 */
function recoverySplit(info: Record<string, unknown> | undefined): Record<string, number> {
  const report = info?.recovery as RecoveryTimes | undefined;
  if (report?.snapshotMs === undefined || report.walMs === undefined) return {};
  const walBytes = report.bytesRead - (report.snapshot?.bytes ?? 0);
  const blockMs = report.walBlockLoadMs ?? 0;
  return { snapshot_ms: report.snapshotMs, wal_block_load_ms: blockMs, wal_mb_s: walBytes / 1e6 / ((report.walMs - blockMs) / 1000) };
}
