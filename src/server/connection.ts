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
import { recordBytesMax } from '../limits.js';
import type { Socket } from 'node:net';
import { wrongArity } from './arguments.js';
import type { Command, CommandContext, ServerContext, Session } from './command.js';
import { commandTable, transactionalCommands, transactionControl } from './commands/command-table.js';
import { leaveAll } from './commands/pubsub-commands.js';
import { transactionCommandsMax } from './commands/transaction-commands.js';
import { errorReply, type Piece, queuedReply, type Reply, replyBytes } from './reply.js';
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

/** Like Redis's client-query-buffer-limit: bytes of unfinished request a connection may hold (recordBytesMax: no bigger request could be written anyway). */
const queryBufferBytesMax = recordBytesMax;
/** Blind writes one connection may have in flight before its next command waits for one to settle. */
const writesInFlightMax = 256;

/** Ready replies written at once at most, before the next command runs (a long pipeline's). */
const flushSlotsMax = 64;
/** A reply piece this large (a big value) is written before the next command runs. */
const largeReplyPieceBytes = 16 * 1024;

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
  #flushScheduled = false;
  /** Bytes of replies queued behind a reply not yet settled (see #noteSize). */
  #queuedBytes = 0;
  /** QUIT ran or a protocol error ended the stream: nothing more is read or run. */
  #stopped = false;
  #stallTimer: NodeJS.Timeout | undefined;
  /** A queued reply holds a piece over `largeReplyPieceBytes`: write before running more. */
  #largeReplyQueued = false;
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
      channels: new Set(),
      patterns: new Set(),
      subscriber: {
        get protocol() {
          return session.protocol;
        },
        deliver: (message) => this.#enqueue(message, false),
      },
    };
    const session = this.session;
    this.#context = { server, session: this.session, store: server.store };
    this.#parser = new RequestParser(limits.request);
    this.#parser.setUnauthenticated(!this.session.authenticated);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#updateFlow());
    socket.on('close', () => leaveAll(this.#context));
    socket.on('end', () => {
      this.#peerEnded = true;
      this.#endIfAnswered();
    });
    if (limits.idleTimeoutMs > 0) {
      socket.setTimeout(limits.idleTimeoutMs);
      // As Redis's timeout: a subscriber waiting on a quiet channel is not idle.
      socket.on('timeout', () => {
        if (this.session.channels.size + this.session.patterns.size === 0) socket.destroy();
      });
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
    this.#ending = true; // a pub/sub message arriving now is not written after end()
    socket.end();
    socket.resume(); // read (and drop, see #onData) until the client's end: only then does 'close' come
    const cut = setTimeout(() => socket.destroy(), Math.max(0, deadlineMs - Date.now()));
    await closed;
    clearTimeout(cut);
  }

  #onData(chunk: Buffer): void {
    // Shutting down, after QUIT or after a protocol error: what arrives is not read (as in Redis).
    if (this.#finishing || this.#stopped) return;
    this.#take(this.#parser.push(chunk));
    // Bounded like Redis's client-query-buffer-limit: a request this large could not be one WAL record anyway.
    if (this.#parser.bufferedBytes > queryBufferBytesMax) {
      this.#socket.destroy();
      return;
    }
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
      while (this.#inbox.length > 0 && !this.#ending && !this.#stopped) {
        // Replies are written once per batch; a long batch or a large reply goes out now, so that
        // the output bound below sees it.
        if (this.#slots.length >= flushSlotsMax || this.#largeReplyQueued) this.#flush();
        if (this.#socket.writableLength >= this.#limits.outputPauseBytes) await this.#outputRoom();
        if (this.#socket.destroyed) return;
        const waiting = this.#dispatch(this.#inbox.shift() as Buffer[]);
        if (waiting !== undefined) await waiting;
        // Before AUTH the parser reads one command at a time: the next under the limits as they are now.
        if (this.#inbox.length === 0 && this.#parser.holding) this.#take(this.#parser.resume());
        this.#updateFlow();
      }
      if (this.#protocolError !== undefined && !this.#ending && !this.#stopped) {
        this.#stop();
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

  /** Reads and runs nothing more (QUIT, a protocol error); what was answered is still written. */
  #stop(): void {
    this.#stopped = true;
    this.#inbox.length = 0;
    this.#socket.pause();
  }

  /**
   * A client that leaves `outputPauseBytes` unread for `outputStallMs` is cut off, whether or not it
   * sends more (a big MGET then silence, a subscriber that stopped reading).
   */
  #watchStall(): void {
    const socket = this.#socket;
    if (this.#stallTimer !== undefined || socket.writableLength + this.#queuedBytes < this.#limits.outputPauseBytes) return;
    const timer = setTimeout(() => socket.destroy(), this.#limits.outputStallMs);
    this.#stallTimer = timer;
    const clear = () => {
      clearTimeout(timer);
      socket.off('drain', clear);
      socket.off('close', clear);
      if (this.#stallTimer === timer) this.#stallTimer = undefined;
    };
    socket.on('drain', clear);
    socket.on('close', clear);
  }

  /** Runs one command; returns a promise only when the next command must wait for it. */
  #dispatch(args: Buffer[]): Promise<void> | undefined {
    this.#context.server.counters.commandsProcessed++;
    const name = args[0].toString('latin1').toLowerCase();
    const command = commandTable.get(name);
    const refusal = this.#refusal(command, name, args);
    if (this.session.transaction !== undefined && !transactionControl.has(name)) return this.#queue(args, name, refusal);
    if (refusal !== undefined || command === undefined) {
      // Redis's rejectCommand: a refused command inside MULTI fails the transaction, EXEC's own arity too.
      if (this.session.transaction !== undefined) this.session.transactionFailed = true;
      this.#enqueue(errorReply(refusal ?? ''), false);
      return undefined;
    }
    const kind = typeof command.kind === 'function' ? command.kind(args) : command.kind;
    if (kind === 'blind' && this.#writesInFlight.size >= writesInFlightMax) {
      // A pipelining loader cannot fill the store's mailbox for everyone: wait for one to settle.
      return Promise.race(this.#writesInFlight).then(() => this.#run(command, args, kind));
    }
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
    const subscribed = this.session.channels.size + this.session.patterns.size > 0;
    // RESP2 carries messages on the reply stream: a subscribed connection may only manage its subscriptions.
    if (subscribed && this.session.protocol === 2 && !subscribedCommands.has(name)) {
      return `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`;
    }
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
    if (closeAfter) this.#stop(); // QUIT: nothing after it runs, even before its reply is written
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
    // Closing (after QUIT's reply, a protocol error, a shutdown): a late message is dropped, as Redis
    // adds nothing to a client closing after its reply; writing it after end() would lose the rest.
    if (this.#ending || (this.#stopped && !closeAfter)) return;
    this.#slots.push({ reply, closeAfter });
    this.#noteSize(reply);
    this.#scheduleFlush();
  }

  #noteSize(reply: Reply): void {
    for (const piece of reply) if (piece.length > largeReplyPieceBytes) this.#largeReplyQueued = true;
    // Replies waiting behind one not yet settled (a subscriber's messages behind a durable write)
    // count against the output bounds too.
    if (this.#slots.length > 1 && this.#slots[0].reply === undefined) {
      this.#queuedBytes += replyBytes(reply);
      if (this.#queuedBytes > this.#limits.outputBytesMax) this.#socket.destroy();
      else if (this.#queuedBytes >= this.#limits.outputPauseBytes) this.#watchStall();
    }
  }

  /** One write per batch of ready replies (a pipeline's), not one per reply or per piece. */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #enqueuePending(pending: Promise<Reply>, closeAfter: boolean): Promise<void> {
    const slot: ReplySlot = { reply: undefined, closeAfter };
    this.#slots.push(slot);
    return pending.then((reply) => {
      slot.reply = reply;
      this.#noteSize(reply);
      this.#scheduleFlush();
    });
  }

  /** Writes every ready reply at the head of the queue, in one corked batch. */
  #flush(): void {
    const socket = this.#socket;
    if (this.#slots.length === 0 || this.#slots[0].reply === undefined || socket.destroyed || this.#ending) return;
    this.#largeReplyQueued = false;
    const pieces: Piece[] = [];
    let allText = true;
    let closeAfter = false;
    while (this.#slots.length > 0 && this.#slots[0].reply !== undefined && !closeAfter) {
      const slot = this.#slots.shift() as ReplySlot;
      for (const piece of slot.reply as Reply) {
        pieces.push(piece);
        allText &&= typeof piece === 'string';
      }
      closeAfter = slot.closeAfter;
    }
    // Text pieces are written as UTF-8, the encoding their bulk lengths were counted in.
    socket.write(
      allText ? pieces.join('') : Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece))),
    );
    if (closeAfter) {
      this.#ending = true;
      this.#slots.length = 0;
      // As Redis frees the client: once the last reply is written, the connection is gone (a client
      // that keeps its side open cannot keep sending into it).
      socket.end(() => socket.destroy());
    }
    this.#queuedBytes = 0; // what was queued is written now, or waits behind a new head counted afresh
    if (socket.writableLength > this.#limits.outputBytesMax) socket.destroy(); // it does not read: cut it off
    this.#watchStall();
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

/** What a RESP2 connection with subscriptions may send. */
const subscribedCommands: ReadonlySet<string> = new Set([
  'subscribe',
  'psubscribe',
  'unsubscribe',
  'punsubscribe',
  'ping',
  'quit',
  'reset',
]);

/** Redis's text: the name, then the first arguments quoted, 128 characters at most of each part. */
function unknownCommand(args: Buffer[]): string {
  let shown = '';
  for (let at = 1; at < args.length && shown.length < 128; at++) shown += `'${args[at].toString('latin1').slice(0, 128 - shown.length)}' `;
  return `ERR unknown command '${args[0].toString('latin1').slice(0, 128)}', with args beginning with: ${shown}`;
}
