import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

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
});
