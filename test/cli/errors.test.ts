import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { closeAfterTest, tempDir } from '../helpers/temp-dir.js';
import { firstSegment, recordSpans, runCli, seedStore } from './run-cli.js';

describe('errors: one message, no stack trace, and a documented exit code', () => {
  it('a store open in another process: the locked message and exit 3', async () => {
    const dir = await tempDir();
    await seedStore(dir, 1);
    closeAfterTest(await DurableKVStore.open(dir));

    const got = await runCli(['get', dir, 'k0']);
    expect(got.code).toBe(3);
    expect(got.stderr).toBe(`durable-kv get: store at ${dir} is open in another process (ERR_STORE_LOCKED)\n`);

    const json = await runCli(['--json', 'put', dir, 'k', 'v']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'ERR_STORE_LOCKED', exitCode: 3 } });
  });

  it('corruption on open: exit 4, the file and offset, and a pointer to verify and repair', async () => {
    const dir = await tempDir();
    await seedStore(dir, 4);
    const segment = path.join(dir, firstSegment);
    const { offset } = (await recordSpans(segment))[1];
    const bytes = await readFile(segment);
    bytes[offset + 20] ^= 0xff;
    await writeFile(segment, bytes);

    const stats = await runCli(['stats', dir]);
    expect(stats.code).toBe(4);
    expect(stats.stderr).toContain(`corrupt data in ${segment} at byte ${offset}`);
    expect(stats.stderr).toContain(`durable-kv verify ${dir}`);
    expect(stats.stderr).toContain(`durable-kv repair ${dir}`);
    expect(stats.stderr).not.toMatch(/^\s+at /m);
  });

  it('usage errors, invalid values and a directory without a store exit 2', async () => {
    const dir = await tempDir();
    const usage = await runCli(['get', dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'key'");

    const invalid = await runCli(['put', path.join(dir, 'store'), 'k', 'not json', '--encoding', 'json']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('not valid JSON');

    const noStore = await runCli(['get', dir, 'k']);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain(`no durable-kv store at ${dir}`);
  });
});
