import { type Command, Option } from 'commander';
import { serveResp } from '../../server/index.js';
import type { DurableKVStore } from '../../store.js';
import { handled } from '../action.js';
import { contextOf, note } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { openStore } from '../open-store.js';

interface ServeFlags {
  port?: string;
  host?: string;
  unixSocket?: string;
  maxClients?: string;
  idleTimeoutMs?: string;
  sync?: 'always' | 'interval' | 'never';
}

/**
 * `durable-kv serve <dir>`: the store over the Redis protocol until SIGTERM or SIGINT, which stop
 * accepting, let every client finish what it sent and read its replies, close the store, and exit 0.
 * The password comes from DURABLE_KV_PASSWORD, not a flag, so it never shows in `ps`.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the store over the Redis protocol (RESP2/RESP3) until SIGTERM or SIGINT')
    .argument('<dir>', 'store directory (created if missing)')
    .option('--port <port>', 'TCP port (0: any free port; default 6379, or none with --unix-socket)')
    .option('--host <host>', 'address to bind; anything but loopback needs DURABLE_KV_PASSWORD', '127.0.0.1')
    .option('--unix-socket <path>', 'also listen on this Unix socket')
    .option('--max-clients <n>', 'connections served at once', '10000')
    .option('--idle-timeout-ms <ms>', 'close a connection idle this long (0: never)', '0')
    .addOption(
      new Option('--sync <mode>', "when a write's reply is sent: after fdatasync (always), or not").choices([
        'always',
        'interval',
        'never',
      ]),
    )
    .addHelpText('after', '\nEnvironment:\n  DURABLE_KV_PASSWORD   clients must AUTH with it (user "default")')
    .action(
      handled(async (dir: string, flags: ServeFlags, command: Command) => {
        if (contextOf(command).encoding !== 'utf8')
          throw new CliError('serve needs --encoding utf8 (Redis values are strings)', exitCodes.usage, 'ERR_INVALID_ARG');
        const store = (await openStore(dir, contextOf(command), { create: true, sync: flags.sync })) as DurableKVStore<string>;
        try {
          const server = await serveResp(store, {
            port: integerFlag('--port', flags.port),
            host: flags.host,
            unixSocket: flags.unixSocket,
            password: process.env.DURABLE_KV_PASSWORD || undefined,
            maxClients: integerFlag('--max-clients', flags.maxClients),
            idleTimeoutMs: integerFlag('--idle-timeout-ms', flags.idleTimeoutMs),
          });
          const address = server.address();
          note(
            `serving ${dir} on ${typeof address === 'string' ? address : `${address.address}:${address.port}`}${flags.unixSocket ? ` and ${flags.unixSocket}` : ''}`,
          );
          const signal = await new Promise<string>((resolve) => {
            process.once('SIGTERM', () => resolve('SIGTERM'));
            process.once('SIGINT', () => resolve('SIGINT'));
          });
          note(`${signal}: finishing ${server.clients} connection(s), then closing the store`);
          await server.close();
        } finally {
          await store.close();
        }
        return exitCodes.ok;
      }),
    );
}

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number))
    throw new CliError(`${name} must be a non-negative integer, got ${value}`, exitCodes.usage, 'ERR_INVALID_ARG');
  return number;
}
