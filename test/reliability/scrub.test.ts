/**
 * store.verify(): an online scrub of a running store. It finds latent damage in any file — older
 * snapshot generations and covered segments included — reports it in its result and as an 'error'
 * event, never mistakes writes in flight for damage, and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { contentsOf, dir, expectCode, modelContents, openStore, putMany } from './helpers.js';

async function storeWithHistory(memory: MemoryFileSystem) {
  const store = await openStore(memory, { segmentBytesMax: 512 });
  const model = new Map<string, string>();
  await putMany(store, model, 30, 'first');
  await store.snapshot();
  await putMany(store, model, 30, 'second');
  await store.snapshot();
  await putMany(store, model, 5, 'third');
  return { store, model };
}

describe('store.verify()', () => {
  it('passes a healthy running store, every file read', async () => {
    const memory = new MemoryFileSystem();
    const { store } = await storeWithHistory(memory);
    const result = await store.verify();
    expect(result.ok).toBe(true);
    const names = (await memory.readdir(dir)).filter((name) => name !== 'LOCK');
    expect(result.files.map((file) => file.file).sort()).toEqual(names);
    expect(result.files.every((file) => file.status === 'ok')).toBe(true);
    expect(result.bytesRead).toBeGreaterThan(0);
    await store.close();
  });

  it.each(['older snapshot', 'covered segment'])('finds a flipped bit in the %s and emits it as an error', async (where) => {
    const memory = new MemoryFileSystem();
    const { store, model } = await storeWithHistory(memory);
    const names = (await memory.readdir(dir)).sort();
    const target =
      where === 'older snapshot' ? names.filter((name) => name.endsWith('.snap'))[0] : names.find((name) => name.endsWith('.wal'))!;
    memory.corrupt(`${dir}/${target}`, 40, 0x04);
    const errors: Error[] = [];
    store.on('error', (error) => errors.push(error));
    const result = await store.verify();
    expect(result.ok).toBe(false);
    expect(result.files.find((file) => file.file === target)).toMatchObject({ status: 'corrupt' });
    expect(errors).toHaveLength(1);
    expectCode(errors[0] as Error & { code: string }, 'ERR_STORE_CORRUPT');
    expect(errors[0]).toMatchObject({ file: target });
    // Nothing was changed, and the store goes on serving.
    expect(store.state).toBe('ready');
    expect(contentsOf(store)).toEqual(modelContents(model));
    await store.close();
  });

  it('does not mistake writes in flight for damage', async () => {
    const memory = new MemoryFileSystem();
    const { store, model } = await storeWithHistory(memory);
    const writing = putMany(store, model, 200, 'during');
    const results = await Promise.all([store.verify(), store.verify(), writing.then(() => store.verify())]);
    for (const result of results) expect(result.ok).toBe(true);
    await store.close();
  });
});

describe('store.verify() on a file it cannot read', () => {
  it('reports an EIO as damage in that file and checks the others', async () => {
    const memory = new MemoryFileSystem();
    const faulty = new FaultyFileSystem({ inner: memory, seed: 7 });
    const store = await openStore(faulty, { segmentBytesMax: 512 });
    await putMany(store, new Map(), 30);
    await store.snapshot();
    const snap = (await memory.readdir(dir)).find((name) => name.endsWith('.snap'))!;
    faulty.failNth('read', 1, 'EIO', { pathIncludes: snap });
    const errors: Error[] = [];
    store.on('error', (error) => errors.push(error));
    const result = await store.verify();
    expect(result.ok).toBe(false);
    expect(result.files.find((file) => file.file === snap)).toMatchObject({
      status: 'corrupt',
      reason: expect.stringMatching(/unreadable \(EIO/),
    });
    expect(result.files.filter((file) => file.status === 'ok').length).toBe(result.files.length - 1);
    expect(errors).toHaveLength(1);
    expect(store.state).toBe('ready');
    await store.close();
  });
});
