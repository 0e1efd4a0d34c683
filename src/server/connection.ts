/**
 * One client connection: bytes in → commands (bounded parser) → the command table → replies out,
 * in request order.
 *
 * Ordering, and why pipelined writes share a group commit: commands run one at a time in the order
 * received. A 'blind' write (SET, MSET, INCR, …) is handed to the store at once and the next
 * command starts without waiting for it, so a pipeline of writes reaches the WAL actor together and
 * is committed as one group. A command that reads ('reads') first waits for this connection's
 * writes still in flight, so it sees them; and its own read-then-write finishes before the next
 * command starts. A write's reply is queued as a promise and sent only when it settles, which is
 * when the store made it durable under its `sync` policy; replies go out strictly in order.
 *
 * Bounds: the parser bounds each request; reading pauses while `inboxCommandsMax` commands wait,
 * and both reading and running pause while the socket holds `outputPauseBytes` unsent; a client
 * that leaves them unread for `outputStallMs`, or whose unsent replies pass `outputBytesMax` (one
 * huge reply), is cut off, and the others carry on.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';
import { wrongArity } from './arguments.js';
import type { Command, CommandContext, ServerContext, Session } from './command.js';
import { commandTable, transactionalCommands, transactionControl } from './commands/command-table.js';
import { transactionCommandsMax } from './commands/transaction-commands.js';
import { errorReply, queuedReply, type Reply } from './reply.js';
import { type ParseEvent, type RequestLimits, RequestParser } from './request-parser.js';
import { replyErrorFor } from './store-calls.js';

export interface ConnectionLimits {
  request: RequestLimits;
  /** Commands parsed but not yet run before reading pauses. */
  inboxCommandsMax: number;
  /** Unsent reply bytes at which reading pauses until the client reads. */
  outputPauseBytes: number;
  /** Unsent reply bytes at which the client is disconnected. */
  outputBytesMax: number;
  /** How long a client may leave `outputPauseBytes` unread before it is disconnected. */
  outputStallMs: number;
  /** Close a connection idle this long; 0: never. */
  idleTimeoutMs: number;
}

/** How long a graceful close waits for a client to take its last replies. */
export const finishGraceMs = 5_000;

interface ReplySlot {
  reply: Reply | undefined;
  /** Close the connection once this reply is written (QUIT, a protocol error). */
  closeAfter: boolean;
}

export class Connection {
  readonly session: Session;
  readonly #socket: Socket;
  readonly #parser: RequestParser;
  readonly #context: CommandContext;
  readonly #limits: ConnectionLimits;
  readonly #inbox: Buffer[][] = [];
  readonly #slots: ReplySlot[] = [];
  /** Blind writes not settled yet: what a reading command waits for. */
  readonly #writesInFlight = new Set<Promise<unknown>>();
  #protocolError: string | undefined;
  #draining = false;
  #paused = false;
  #ending = false;
  /** Set by `finish`: read nothing more. */
  #finishing = false;
  /** The client ended its side (`printf … | nc`): answer what it sent, then end ours. */
  #peerEnded = false;

  constructor(socket: Socket, server: ServerContext, id: number, limits: ConnectionLimits) {
    this.#socket = socket;
    this.#limits = limits;
    this.session = {
      id,
      name: '',
      protocol: 2,
      authenticated: !server.passwordSet,
      libName: '',
      libVersion: '',
      closeAfterReply: false,
      transaction: undefined,
      transactionFailed: false,
      watched: new Map(),
    };
    this.#context = { server, session: this.session, store: server.store };
    this.#parser = new RequestParser(limits.request);
    this.#parser.setUnauthenticated(!this.session.authenticated);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#updateFlow());
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#endIfAnswered();
    });
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs);
      socket.on('timeout', () => socket.destroy());
    }
  }

  /**
   * A graceful close (server shutdown): reads nothing more, runs what was received, writes every
   * reply, then ends the connection. A client that does not read its replies within
   * `finishGraceMs` is cut off rather than holding up the shutdown.
   */
  async finish(): Promise<void> {
    this.#finishing = true;
    this.#socket.pause();
    const socket = this.#socket;
    const deadlineMs = Date.now() + finishGraceMs;
    while ((this.#draining || this.#inbox.length > 0 || this.#slots.length > 0) && !socket.destroyed && Date.now() < deadlineMs) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (socket.destroyed) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.end();
    socket.resume(); // read (and drop, see #onData) until the client's end: only then does 'close' come
    const cut = setTimeout(() => socket.destroy(), Math.max(0, deadlineMs - Date.now()));
    await closed;
    clearTimeout(cut);
  }

  #onData(chunk: Buffer): void {
    if (this.#finishing) return; // shutting down: what arrives after `finish` began is not run
    this.#take(this.#parser.push(chunk));
    this.#updateFlow();
    void this.#drain();
  }

  #take(events: ParseEvent[]): void {
    for (const event of events) {
      if (event.type === 'command') this.#inbox.push(event.args);
      else this.#protocolError = event.message;
    }
  }

  /** Runs queued commands in order; awaits only where a command must wait. */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#inbox.length > 0 && !this.#ending) {
        if (this.#socket.writableLength >= this.#limits.outputPauseBytes) await this.#outputRoom();
        if (this.#socket.destroyed) return;
        const waiting = this.#dispatch(this.#inbox.shift() as Buffer[]);
        if (waiting !== undefined) await waiting;
        // Before AUTH the parser reads one command at a time: the next under the limits as they are now.
        if (this.#inbox.length === 0 && this.#parser.holding) this.#take(this.#parser.resume());
        this.#updateFlow();
      }
      if (this.#protocolError !== undefined && !this.#ending) {
        // One character per byte: "expected '$', got '<byte>'" sends the byte as Redis does.
        this.#enqueue([Buffer.from(`-ERR ${this.#protocolError}\r\n`, 'latin1')], true);
        this.#protocolError = undefined;
      }
    } finally {
      this.#draining = false;
      this.#updateFlow();
      this.#endIfAnswered();
    }
  }

  /** Once a client that ended its side has every reply, ends ours (the server listens half-open). */
  #endIfAnswered(): void {
    if (this.#peerEnded && !this.#draining && this.#inbox.length === 0 && this.#slots.length === 0 && !this.#socket.destroyed)
      this.#socket.end();
  }

  /**
   * Waits until the client has read enough of its replies. One that reads nothing for
   * `outputStallMs` is cut off: its replies would otherwise sit in memory for as long as it likes.
   */
  async #outputRoom(): Promise<void> {
    const socket = this.#socket;
    const drained = await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        socket.off('drain', onDrain);
        socket.off('close', onDrain);
        resolve(value);
      };
      const onDrain = () => done(true);
      const timer = setTimeout(() => done(false), this.#limits.outputStallMs);
      socket.once('drain', onDrain);
      socket.once('close', onDrain);
    });
    if (!drained) socket.destroy();
  }

  /** Runs one command; returns a promise only when the next command must wait for it. */
  #dispatch(args: Buffer[]): Promise<void> | undefined {
    this.#context.server.counters.commandsProcessed++;
    const name = args[0].toString('latin1').toLowerCase();
    const command = commandTable.get(name);
    const refusal = this.#refusal(command, name, args);
    if (this.session.transaction !== undefined && !transactionControl.has(name)) return this.#queue(args, name, refusal);
    if (refusal !== undefined || command === undefined) {
      this.#enqueue(errorReply(refusal ?? ''), false);
      return undefined;
    }
    const kind = typeof command.kind === 'function' ? command.kind(args) : command.kind;
    if (kind === 'reads' && this.#writesInFlight.size > 0) {
      return Promise.allSettled([...this.#writesInFlight]).then(() => this.#run(command, args, kind));
    }
    return this.#run(command, args, kind);
  }

  /** Between MULTI and EXEC: queues the command, or refuses it and marks the transaction failed. */
  #queue(args: Buffer[], name: string, refusal: string | undefined): undefined {
    const transaction = this.session.transaction as Buffer[][];
    const why =
      refusal ??
      (!transactionalCommands.has(name)
        ? 'ERR Command not allowed inside a transaction'
        : transaction.length >= transactionCommandsMax
          ? `ERR a transaction queues at most ${transactionCommandsMax} commands`
          : undefined);
    if (why !== undefined) {
      this.session.transactionFailed = true;
      this.#enqueue(errorReply(why), false);
      return undefined;
    }
    transaction.push(args);
    this.#enqueue(queuedReply, false);
    return undefined;
  }

  /** Why `command` may not run now, as Redis words it; undefined if it may. */
  #refusal(command: Command | undefined, name: string, args: Buffer[]): string | undefined {
    // Redis's order (processCommand): existence, arity, then authentication.
    if (command === undefined) return unknownCommand(args);
    const arityOk = command.arity >= 0 ? args.length === command.arity : args.length >= -command.arity;
    if (!arityOk) return wrongArity(name);
    if (!this.session.authenticated && command.noAuth !== true) return 'NOAUTH Authentication required.';
    return undefined;
  }

  #run(command: Command, args: Buffer[], kind: string): Promise<void> | undefined {
    const wasAuthenticated = this.session.authenticated;
    let result: Reply | Promise<Reply>;
    try {
      result = command.run(this.#context, args);
    } catch (error) {
      result = errorReply(replyErrorFor(error).message);
    }
    if (this.session.authenticated !== wasAuthenticated) this.#parser.setUnauthenticated(!this.session.authenticated);
    const closeAfter = this.session.closeAfterReply;
    if (!(result instanceof Promise)) {
      this.#enqueue(result, closeAfter);
      return undefined;
    }
    const settled = result.catch((error: unknown) => errorReply(replyErrorFor(error).message));
    const slot = this.#enqueuePending(settled, closeAfter);
    if (kind !== 'blind') return slot;
    this.#writesInFlight.add(settled);
    void settled.finally(() => this.#writesInFlight.delete(settled));
    return undefined;
  }

  #enqueue(reply: Reply, closeAfter: boolean): void {
    this.#slots.push({ reply, closeAfter });
    this.#flush();
  }

  #enqueuePending(pending: Promise<Reply>, closeAfter: boolean): Promise<void> {
    const slot: ReplySlot = { reply: undefined, closeAfter };
    this.#slots.push(slot);
    return pending.then((reply) => {
      slot.reply = reply;
      this.#flush();
    });
  }

  /** Writes every ready reply at the head of the queue, in one corked batch. */
  #flush(): void {
    const socket = this.#socket;
    if (this.#slots.length === 0 || this.#slots[0].reply === undefined || socket.destroyed) return;
    socket.cork();
    while (this.#slots.length > 0 && this.#slots[0].reply !== undefined) {
      const slot = this.#slots.shift() as ReplySlot;
      for (const piece of slot.reply as Reply) socket.write(piece);
      if (slot.closeAfter) {
        this.#ending = true;
        this.#slots.length = 0;
        socket.end();
      }
    }
    process.nextTick(() => socket.uncork());
    if (socket.writableLength > this.#limits.outputBytesMax) socket.destroy(); // it does not read: cut it off
    this.#updateFlow();
    this.#endIfAnswered();
  }

  /** Pauses reading while work or unsent output piles up; resumes once both are below their bounds. */
  #updateFlow(): void {
    const socket = this.#socket;
    const busy =
      this.#finishing || this.#inbox.length >= this.#limits.inboxCommandsMax || socket.writableLength >= this.#limits.outputPauseBytes;
    if (busy && !this.#paused) socket.pause();
    else if (!busy && this.#paused) socket.resume();
    this.#paused = busy;
  }
}

/** Redis's text: the name, then the first arguments quoted, 128 characters at most of each part. */
function unknownCommand(args: Buffer[]): string {
  let shown = '';
  for (let at = 1; at < args.length && shown.length < 128; at++) shown += `'${args[at].toString('latin1').slice(0, 128 - shown.length)}' `;
  return `ERR unknown command '${args[0].toString('latin1').slice(0, 128)}', with args beginning with: ${shown}`;
}
