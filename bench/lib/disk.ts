import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** Bytes a directory takes: `allocated` (st_blocks, what the disk really holds) and `logical` (sizes). */
export async function directoryBytes(dir: string): Promise<{ allocated: number; logical: number; files: number }> {
  let allocated = 0;
  let logical = 0;
  let files = 0;
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = await directoryBytes(full);
      allocated += inner.allocated;
      logical += inner.logical;
      files += inner.files;
    } else if (entry.isFile()) {
      const stat = await fsp.stat(full);
      allocated += stat.blocks * 512;
      logical += stat.size;
      files++;
    }
  }
  return { allocated, logical, files };
}
