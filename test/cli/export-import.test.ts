import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore, type StoreOptions } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

async function contents(dir: string, valueEncoding: NonNullable<StoreOptions['valueEncoding']>): Promise<Map<string, unknown>> {
  const store = await DurableKVStore.open(dir, { valueEncoding });
  try {
    return new Map(store.entries());
  } finally {
    await store.close();
  }
}

describe('export then import', () => {
  it('copies utf8 values to another store through a file, tricky text included', async () => {
    const root = await tempDir();
    const [from, to, file] = [path.join(root, 'from'), path.join(root, 'to'), path.join(root, 'data.jsonl')];
    const store = await DurableKVStore.open(from);
    for (let i = 0; i < 2500; i++) await store.batch([{ type: 'put', key: `key:${i}`, value: `value ${i}` }]);
    await store.put('odd "key"\n', 'quote " newline \n tab \t emoji 🎉 nul \u0000');
    await store.delete('key:7');
    await store.close();

    expect((await runCli(['export', from, file])).stdout).toBe(`exported 2500 records to ${file}\n`);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    expect(JSON.parse(lines[0])).toEqual({ key: 'key:0', value: 'value 0' });

    const imported = await runCli(['--json', 'import', to, file]);
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 2500, batches: 3 });
    expect(await contents(to, 'utf8')).toEqual(await contents(from, 'utf8'));
  });

  it('keeps each key expiry: an exported session is not made permanent by the import', async () => {
    const root = await tempDir();
    const [from, to, file] = [path.join(root, 'from'), path.join(root, 'to'), path.join(root, 'data.jsonl')];
    const expiresAt = Date.now() + 3_600_000;
    const store = await DurableKVStore.open(from);
    await store.put('session:1', 'a', { expiresAt });
    await store.put('user:1', 'b');
    await store.close();
    await runCli(['export', from, file]);
    const lines = (await readFile(file, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { key: 'session:1', value: 'a', expiresAt },
      { key: 'user:1', value: 'b' },
    ]);
    await runCli(['import', to, file]);
    const copy = await DurableKVStore.open(to);
    expect(copy.getEntry('session:1')?.expiresAt).toBe(expiresAt);
    expect(copy.getEntry('user:1')?.expiresAt).toBeNull();
    await copy.close();
    await writeFile(file, `${JSON.stringify({ key: 'k', value: 'v', expiresAt: -5 })}\n`);
    const refused = await runCli(['import', to, file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/expiresAt/);
  });

  it('copies JSON values with --encoding json, and binary values as base64 with a marker, through a pipe', async () => {
    const root = await tempDir();
    const [jsonFrom, jsonTo, binFrom, binTo] = ['jf', 'jt', 'bf', 'bt'].map((name) => path.join(root, name));
    const json = await DurableKVStore.open(jsonFrom, { valueEncoding: 'json' });
    await json.put('object', { nested: [1, 'two', null, true] });
    await json.put('number', 42);
    await json.close();
    const bin = await DurableKVStore.open(binFrom, { valueEncoding: 'binary' });
    await bin.put('bytes', Uint8Array.from([0, 255, 128, 10, 13]));
    await bin.put('empty', new Uint8Array(0));
    await bin.close();

    const jsonExport = await runCli(['--encoding', 'json', 'export', jsonFrom]);
    expect(jsonExport.stdout).toContain('{"key":"object","value":{"nested":[1,"two",null,true]}}\n');
    await runCli(['--encoding', 'json', 'import', jsonTo], { input: jsonExport.stdout });
    expect(await contents(jsonTo, 'json')).toEqual(await contents(jsonFrom, 'json'));

    const binExport = await runCli(['--encoding', 'binary', 'export', binFrom]);
    expect(binExport.stdout).toContain('{"key":"bytes","value":"AP+ACg0=","encoding":"base64"}\n');
    await runCli(['--encoding', 'binary', 'import', binTo], { input: binExport.stdout });
    expect(await contents(binTo, 'binary')).toEqual(await contents(binFrom, 'binary'));
  });

  it('stops at an invalid line with exit 2, naming the line; the batches before it stay imported', async () => {
    const root = await tempDir();
    const file = path.join(root, 'bad.jsonl');
    const good = Array.from({ length: 3 }, (_, i) => JSON.stringify({ key: `k${i}`, value: `v${i}` }));
    await writeFile(file, [...good, '{"key": "k3", "value": ', JSON.stringify({ key: 'k4', value: 'v4' })].join('\n'));

    const imported = await runCli(['import', path.join(root, 'store'), file, '--batch-size', '2']);
    expect(imported.code).toBe(2);
    expect(imported.stderr).toContain('line 4: not valid JSON');
    expect(imported.stderr).toContain('2 records (lines 1..2) were imported before the error');
    expect([...(await contents(path.join(root, 'store'), 'utf8')).keys()]).toEqual(['k0', 'k1']);
  });

  it('cuts batches by size too, so large values never make one oversized batch', async () => {
    const root = await tempDir();
    const value = 'x'.repeat(1024 * 1024);
    const lines = Array.from({ length: 12 }, (_, i) => JSON.stringify({ key: `big${i}`, value })).join('\n');

    const imported = await runCli(['--json', 'import', path.join(root, 'store'), '--batch-size', '1000'], { input: lines });
    expect(JSON.parse(imported.stdout)).toMatchObject({ imported: 12, batches: 2 });
  });
});
