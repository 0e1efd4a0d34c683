/**
 * Redis stops processing a client's input once QUIT set CLIENT_CLOSE_AFTER_REPLY
 * (processInputBuffer: "if (c->flags & (CLIENT_CLOSE_AFTER_REPLY|CLIENT_CLOSE_ASAP)) break").
 * Here `#ending` is set only when QUIT's reply is flushed; with an earlier write's reply still
 * pending, the drain loop goes on and runs (and durably applies) the commands after QUIT.
 */
import { afterEach, expect, it } from 'vitest';
import { rawExchange, type Served, served } from '../helpers.js';

let serving: Served | undefined;
afterEach(async () => {
  await serving?.close();
  serving = undefined;
});

it('SET a 1; QUIT; SET b 2 in one write: b is never written', async () => {
  serving = await served();
  const { reply, closed } = await rawExchange(serving.port, 'SET a 1\r\nQUIT\r\nSET b 2\r\n', 300);
  expect(reply).toBe('+OK\r\n+OK\r\n');
  expect(closed).toBe(true);
  expect(serving.store.get('a')).toBe('1');
  expect(serving.store.get('b')).toBeUndefined();
});

it('QUIT; SET c 3 in one write: c is never written (no write pending before QUIT)', async () => {
  // At HEAD this holds (QUIT's reply was flushed synchronously, setting #ending); with the
  // uncommitted microtask flush in connection.ts (#scheduleFlush) the drain loop runs SET c first.
  serving = await served();
  const { reply, closed } = await rawExchange(serving.port, 'QUIT\r\nSET c 3\r\n', 300);
  expect(reply).toBe('+OK\r\n');
  expect(closed).toBe(true);
  expect(serving.store.get('c')).toBeUndefined();
});
