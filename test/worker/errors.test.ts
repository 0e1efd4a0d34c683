/**
 * Errors cross the port as the same classes with the same code and message, so callers can branch
 * on `err.code` (or instanceof) in any thread.
 */
import { describe, expect, it } from 'vitest';
import {
  DurableKVError,
  DurableKVStore,
  InvalidArgumentError,
  NotANumberError,
  StoreClosedError,
  StoreCorruptError,
  StoreFailedError,
  StoreLockedError,
  StoreOverloadedError,
} from '../../src/index.js';
import { ChangesUnavailableError } from '../../src/errors.js';
import { FaultyFileSystem, MemoryFileSystem } from '../../src/testing/index.js';
import { fromWireError, toWireError } from '../../src/worker/protocol.js';
import { rejectionOf } from '../helpers/errors.js';
import { closeAfterTest } from '../helpers/temp-dir.js';
import { connectInThread } from './in-thread.js';

/** What a client sees for `error` thrown on the owner: through the wire format and structured clone. */
function acrossThePort(error: unknown): Error {
  return fromWireError(structuredClone(toWireError(error)));
}

describe('error classes across the port', () => {
  const cases: Array<[string, DurableKVError]> = [
    ['InvalidArgumentError', new InvalidArgumentError('key must be a string, got number')],
    ['StoreClosedError', new StoreClosedError()],
    ['StoreLockedError', new StoreLockedError('/data/db')],
    ['StoreCorruptError', new StoreCorruptError('wal-00000000000000000001.wal', 4096, 'crc mismatch')],
    ['StoreFailedError', new StoreFailedError('fsync failed: EIO')],
    ['StoreOverloadedError', new StoreOverloadedError('the WAL mailbox is full')],
    ['ChangesUnavailableError', new ChangesUnavailableError('compacted', 42)],
    ['NotANumberError', new NotANumberError('counter', "increment: the value of 'counter' is not a number")],
  ];

  it.each(cases)('%s keeps its class, code, name, message and fields', (_name, original) => {
    const copy = acrossThePort(original);
    expect(copy).toBeInstanceOf(original.constructor);
    expect(copy).toBeInstanceOf(DurableKVError);
    const { stack: _stack, ...fields } = Object.fromEntries(Object.entries(original));
    expect({ ...copy }).toEqual(fields); // code, name and the class's own fields (dir, file, offset, ...)
    expect(copy.message).toBe(original.message);
    expect(copy.name).toBe(original.name);
  });

  it('re-creates an error that is not a DurableKVError as an Error with its name, message and code', () => {
    const errno = Object.assign(new Error('no space left on device'), { code: 'ENOSPC', syscall: 'write' });
    const copy = acrossThePort(errno) as Error & { code?: string; syscall?: string };
    expect(copy).not.toBeInstanceOf(DurableKVError);
    expect([copy.name, copy.message, copy.code, copy.syscall]).toEqual(['Error', 'no space left on device', 'ENOSPC', 'write']);
    expect(acrossThePort(new TypeError('x is not a function')).name).toBe('TypeError');
  });
});

describe('errors from the owner’s store reach the client', () => {
  it('invalid arguments: ERR_INVALID_ARG, and nothing is written', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem() }));
    const { remote } = connectInThread(store);
    for (const call of [
      remote.put(42 as unknown as string, 'v'),
      remote.put('k', undefined as unknown as string),
      remote.delete({} as unknown as string),
      remote.batch('not an array' as never),
    ]) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error.code).toBe('ERR_INVALID_ARG');
    }
    expect(store.size).toBe(0);
  });

  it('a value that cannot be cloned: ERR_INVALID_ARG on the client, without sending it', async () => {
    const store = closeAfterTest(await DurableKVStore.open('/db', { fs: new MemoryFileSystem(), valueEncoding: 'json' }));
    const { remote, server } = connectInThread(store);
    const error = await rejectionOf(remote.put('k', { callback: () => 1 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(server.requestsInFlight).toBe(0);
    await remote.put('k', 1); // the connection is still usable
    expect(store.get('k')).toBe(1);
  });

  it('a failed write: ERR_STORE_FAILED, and later writes too', async () => {
    const faulty = new FaultyFileSystem({ inner: new MemoryFileSystem(), seed: 1 });
    const store = await DurableKVStore.open('/db', { fs: faulty, listeners: { error: () => {} } });
    closeAfterTest(store);
    const { remote } = connectInThread(store);
    faulty.failNth('sync', 1, 'EIO', { pathIncludes: '.wal' });
    for (const call of [remote.put('a', '1'), remote.put('b', '2')]) {
      const error = await rejectionOf(call);
      expect(error).toBeInstanceOf(StoreFailedError);
      expect(error.code).toBe('ERR_STORE_FAILED');
    }
  });
});
