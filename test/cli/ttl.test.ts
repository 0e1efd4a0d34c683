import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

const hourMs = 3_600_000;

/** A store with `session` expiring an hour from now (the real clock: the CLI uses it), `forever` without expiry, `gone` already expired. */
async function seed(dir: string): Promise<{ expiresAt: number; version: number }> {
  const store = await DurableKVStore.open(dir);
  const expiresAt = Date.now() + hourMs;
  const put = await store.put('session', 'abc', { expiresAt });
  await store.put('forever', 'x');
  await store.put('gone', 'y', { expiresAt: Date.now() - 1_000 });
  await store.close();
  return { expiresAt, version: (put as { seq: number }).seq };
}

describe('ttl', () => {
  it('prints the time a key has left and when it expires; --json gives both in ms', async () => {
    const dir = await tempDir();
    const { expiresAt } = await seed(dir);

    const human = await runCli(['ttl', dir, 'session']);
    expect(human.code).toBe(0);
    const match = /^(\d+) ms, expires at (\S+)\n$/.exec(human.stdout);
    expect(match).not.toBeNull();
    const ttlMs = Number(match?.[1]);
    expect(ttlMs).toBeGreaterThan(0);
    expect(ttlMs).toBeLessThanOrEqual(hourMs);
    expect(match?.[2]).toBe(new Date(expiresAt).toISOString());

    const json = await runCli(['--json', 'ttl', dir, 'session']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({ key: 'session', found: true, expiresAt });
    expect(parsed.ttlMs).toBeGreaterThan(0);
    expect(parsed.ttlMs).toBeLessThanOrEqual(hourMs);
  });

  it('says "no expiry" for a key without one (--json: nulls)', async () => {
    const dir = await tempDir();
    await seed(dir);
    expect(await runCli(['ttl', dir, 'forever'])).toMatchObject({ code: 0, stdout: 'no expiry\n', stderr: '' });
    const json = await runCli(['--json', 'ttl', dir, 'forever']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ key: 'forever', found: true, ttlMs: null, expiresAt: null });
  });

  it('a missing or expired key exits 1 with "key not found" on stderr, as get does', async () => {
    const dir = await tempDir();
    await seed(dir);
    for (const key of ['never-written', 'gone']) {
      const missing = await runCli(['ttl', dir, key]);
      expect(missing).toMatchObject({ code: 1, stdout: '', stderr: `durable-kv ttl: key not found: ${key}\n` });
      expect((await runCli(['get', dir, key])).code).toBe(missing.code);

      const json = await runCli(['--json', 'ttl', dir, key]);
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toEqual({ key, found: false });
    }
  });

  it('does not decode the value: --encoding json works on a value that is not JSON', async () => {
    const dir = await tempDir();
    await seed(dir);
    expect(await runCli(['--encoding', 'json', 'ttl', dir, 'forever'])).toMatchObject({ code: 0, stdout: 'no expiry\n' });
  });

  it('refuses a directory without a store (exit 2) and a missing key argument (exit 2)', async () => {
    const dir = await tempDir();
    const noStore = await runCli(['ttl', dir, 'k']);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain(`no durable-kv store at ${dir}`);
    const usage = await runCli(['ttl', dir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("missing required argument 'key'");
  });
});

describe('get --json', () => {
  it('adds the version and expiry of the key', async () => {
    const dir = await tempDir();
    const { expiresAt, version } = await seed(dir);
    const session = await runCli(['--json', 'get', dir, 'session']);
    expect(JSON.parse(session.stdout)).toEqual({ key: 'session', found: true, value: 'abc', version, expiresAt });
    const forever = await runCli(['--json', 'get', dir, 'forever']);
    expect(JSON.parse(forever.stdout)).toEqual({ key: 'forever', found: true, value: 'x', version: version + 1, expiresAt: null });
    // Plain get still prints the value alone.
    expect((await runCli(['get', dir, 'session'])).stdout).toBe('abc\n');
  });
});
