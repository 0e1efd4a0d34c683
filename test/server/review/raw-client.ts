/** A persistent raw RESP connection for the review repros: send bytes, collect what comes back until quiet. */
import net from 'node:net';

export class RawClient {
  readonly socket: net.Socket;
  #chunks: Buffer[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static async connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Writes `bytes` and returns what arrives until `idleMs` of quiet (or the close). */
  async send(bytes: string | Buffer, idleMs = 150): Promise<string> {
    this.#chunks = [];
    this.socket.write(bytes);
    await new Promise<void>((resolve) => {
      let last = -1;
      const poll = setInterval(() => {
        const size = this.#chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        if ((size === last && size > 0) || this.closed) {
          clearInterval(poll);
          resolve();
        }
        last = size;
      }, idleMs);
    });
    return Buffer.concat(this.#chunks).toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A command as a RESP multibulk request. */
export function resp(...args: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
