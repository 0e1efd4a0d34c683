/**
 * Without requirepass, Redis 7's default user is `nopass`: `AUTH default <anything>` and
 * `HELLO 3 AUTH default <anything>` succeed (only the one-argument `AUTH <password>` gets the
 * "called without any password configured" error — src/acl.c authCommand). Here every AUTH,
 * HELLO's included, gets that error, so a client configured with a username and password
 * (node-redis `username`, ioredis `username`, redis-py `username=`) cannot connect to a
 * password-less server, which it can with Redis.
 */
import { afterEach, expect, it } from 'vitest';
import { type Served, served } from '../helpers.js';
import { RawClient, resp } from './raw-client.js';

let serving: Served | undefined;
let client: RawClient | undefined;
afterEach(async () => {
  client?.destroy();
  await serving?.close();
  serving = undefined;
});

it('AUTH default x answers OK, and HELLO 3 AUTH default x switches to RESP3, with no password set', async () => {
  serving = await served();
  client = await RawClient.connect(serving.port);
  expect(await client.send(resp('AUTH', 'x'))).toBe(
    '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
  );
  expect(await client.send(resp('AUTH', 'default', 'x'))).toBe('+OK\r\n');
  expect((await client.send(resp('HELLO', '3', 'AUTH', 'default', 'x'))).startsWith('%7\r\n')).toBe(true);
});
