import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

describe('put, get, delete and stats', () => {
  it('round-trips a value through put and get, and delete removes it', async () => {
    const dir = await tempDir();
    expect((await runCli(['put', dir, 'greeting', 'hello world'])).code).toBe(0);

    const got = await runCli(['get', dir, 'greeting']);
    expect(got).toMatchObject({ code: 0, stdout: 'hello world\n' });

    expect((await runCli(['delete', dir, 'greeting'])).code).toBe(0);
    const missing = await runCli(['get', dir, 'greeting']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('key not found: greeting');
  });

  it('stats reports the keys and log position, and what it shows matches the store', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.put('a', '1');
    await store.put('b', '2');
    await store.delete('a');
    await store.close();

    const stats = await runCli(['stats', dir]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^keys +1$/m);
    expect(stats.stdout).toMatch(/^last seq +3$/m);
  });

  it('put --stdin takes the bytes of stdin exactly, and get --encoding binary writes them back raw', async () => {
    const dir = await tempDir();
    const bytes = Buffer.from([0xff, 0x00, 0x0a, 0x7c, 0x80]);
    expect((await runCli(['--encoding', 'binary', 'put', dir, 'blob', '--stdin'], { input: bytes })).code).toBe(0);

    const got = await runCli(['--encoding', 'binary', 'get', dir, 'blob']);
    expect(got.code).toBe(0);
    expect(got.stdoutBytes.equals(bytes)).toBe(true);
  });
});

describe('--json output', () => {
  it('is one JSON document per command (put, get, stats, snapshot, delete), with the fields each documents', async () => {
    const dir = await tempDir();
    const put = await runCli(['--json', 'put', dir, 'n', '{"a":[1,2]}', '--encoding', 'json']);
    expect(JSON.parse(put.stdout)).toEqual({ ok: true, op: 'put', key: 'n', seq: 1 });

    const got = await runCli(['get', dir, 'n', '--json', '--encoding', 'json']);
    expect(JSON.parse(got.stdout)).toEqual({ key: 'n', found: true, value: { a: [1, 2] }, version: 1, expiresAt: null });

    const stats = await runCli(['--json', 'stats', dir]);
    expect(JSON.parse(stats.stdout)).toMatchObject({ keys: 1, lastSeq: 1, walSegments: 1, recovery: { recordsReplayed: 1 } });

    const snapshot = await runCli(['--json', 'snapshot', dir]);
    expect(JSON.parse(snapshot.stdout)).toMatchObject({ seq: 1, keys: 1 });
    const reopened = await DurableKVStore.open(dir, { valueEncoding: 'json' });
    expect(reopened.recoveryReport.snapshot?.seq).toBe(1);
    await reopened.close();

    const deleted = await runCli(['--json', 'delete', dir, 'n']);
    expect(JSON.parse(deleted.stdout)).toEqual({ ok: true, op: 'delete', key: 'n', existed: true, seq: 2 });

    const missing = await runCli(['--json', 'get', dir, 'n']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ key: 'n', found: false });
  });
});

describe('scan', () => {
  it('prints a range in key order, escaped like dump, and as JSON Lines with --json', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir);
    await store.batch([
      { type: 'put', key: 'user:2', value: 'two\tlines\n' },
      { type: 'put', key: 'user:1', value: 'Ada' },
      { type: 'put', key: 'item:9', value: 'x' },
      { type: 'put', key: 'user:😀', value: 'astral' },
      { type: 'put', key: 'user:\uffff', value: 'bmp' },
    ]);
    await store.close();
    expect(await runCli(['scan', dir])).toMatchObject({
      code: 0,
      stdout: 'item:9\tx\nuser:1\tAda\nuser:2\ttwo\\tlines\\n\nuser:\uffff\tbmp\nuser:😀\tastral\n',
    });
    expect((await runCli(['scan', dir, '--prefix', 'user:', '--reverse', '--limit', '2'])).stdout).toBe(
      'user:😀\tastral\nuser:\uffff\tbmp\n',
    );
    const json = await runCli(['--json', 'scan', dir, '--gte', 'item', '--lt', 'user:2']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { key: 'item:9', value: 'x' },
      { key: 'user:1', value: 'Ada' },
    ]);
  });

  it('refuses bad range flags with exit 2 and ERR_INVALID_ARG', async () => {
    const dir = await tempDir();
    await (await DurableKVStore.open(dir)).close();
    for (const flags of [
      ['--limit', '-1'],
      ['--limit', 'many'],
      ['--gt', 'a', '--gte', 'b'],
    ]) {
      const result = await runCli(['scan', dir, ...flags]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/ERR_INVALID_ARG|non-negative integer/);
    }
  });
});
