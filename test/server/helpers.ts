import net from 'node:net';
import { DurableKVStore } from '../../src/index.js';
import { type RespServer, type ServeOptions, serveResp } from '../../src/server/index.js';
import { MemoryFileSystem } from '../../src/testing/index.js';
import type { FileSystem } from '../../src/fs/file-system.js';

export interface Served {
  store: DurableKVStore<string>;
  server: RespServer;
  port: number;
  close(): Promise<void>;
}

/** A store on an in-memory file system (or `fs`), served on a free loopback port. */
export async function served(options: ServeOptions = {}, fs: FileSystem = new MemoryFileSystem()): Promise<Served> {
  const store = await DurableKVStore.open('/db', { fs, autoSnapshot: false });
  const server = await serveResp(store, { port: 0, ...options });
  const address = server.address();
  const port = typeof address === 'string' ? 0 : address.port;
  return {
    store,
    server,
    port,
    async close() {
      await server.close();
      await store.close();
    },
  };
}

/** A raw TCP client: write bytes, read what comes back until the server closes or `idleMs` passes quietly. */
export async function rawExchange(
  port: number,
  bytes: Buffer | string,
  idleMs = 200,
  options: { endAfterWrite?: boolean } = {},
): Promise<{ reply: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(bytes);
  if (options.endAfterWrite === true) socket.end(); // as `printf … | nc` does
  const closed = await new Promise<boolean>((resolve) => {
    let timer = setTimeout(() => resolve(false), idleMs);
    socket.on('data', () => {
      clearTimeout(timer);
      timer = setTimeout(() => resolve(false), idleMs);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  socket.destroy();
  return { reply: Buffer.concat(chunks).toString('latin1'), closed };
}
