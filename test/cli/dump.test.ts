import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';
import { seedTtlStore, ttlClockStartMs as start } from './ttl-store.js';

describe('dump', () => {
  it('prints one line per operation, escaping what would split a line or a field', async () => {
    const dir = await tempDir();
    const store = await DurableKVStore.open(dir, { valueEncoding: 'binary' });
    await store.put('pipe|key', Buffer.from('line1\nline2\ttab\\back\r'));
    await store.put('bytes', Buffer.from([0xff, 0x01, 0x41]));
    await store.batch([
      { type: 'put', key: 'a', value: Buffer.from('1') },
      { type: 'delete', key: 'bytes' },
    ]);
    await store.close();

    const dump = await runCli(['dump', dir]);
    expect(dump.code).toBe(0);
    expect(dump.stdout.split('\n')).toEqual([
      'PUT|1|pipe\\|key|line1\\nline2\\ttab\\\\back\\r',
      'PUT|2|bytes|\\xff\\x01A',
      'PUT|3|a|1',
      'DELETE|3|bytes',
      '',
    ]);
  });

  it('prints puts with an expiry, expires, increments (as the put of the result) and deletes by active expiry', async () => {
    const dir = await tempDir();
    await seedTtlStore(dir);

    const dump = await runCli(['dump', dir]);
    expect(dump.code).toBe(0);
    expect(dump.stdout.split('\n')).toEqual([
      `PUT|1|session|abc|${start + 60_000}`,
      'PUT|2|counter|41',
      'PUT|3|counter|42',
      `EXPIRE|4|counter|${start + 5_000}`,
      `PUT|5|counter|43|${start + 5_000}`,
      'EXPIRE|6|session|0',
      `PUT|7|temp|x|${start + 1_000}`,
      'EXPIRED|8|temp',
      '',
    ]);

    const json = await runCli(['--json', 'dump', dir]);
    expect(json.code).toBe(0);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { op: 'put', seq: 1, key: 'session', value: 'abc', expiresAt: start + 60_000 },
      { op: 'put', seq: 2, key: 'counter', value: '41' },
      { op: 'put', seq: 3, key: 'counter', value: '42' },
      { op: 'expire', seq: 4, key: 'counter', expiresAt: start + 5_000 },
      { op: 'put', seq: 5, key: 'counter', value: '43', expiresAt: start + 5_000 },
      { op: 'expire', seq: 6, key: 'session', expiresAt: null },
      { op: 'put', seq: 7, key: 'temp', value: 'x', expiresAt: start + 1_000 },
      { op: 'delete', seq: 8, key: 'temp', expired: true },
    ]);
  });
});
