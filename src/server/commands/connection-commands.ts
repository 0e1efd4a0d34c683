/**
 * Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, CLIENT, RESET. Texts as Redis 7's.
 */
import type { Buffer } from 'node:buffer';
import { integerArg, ReplyError } from '../arguments.js';
import { type Command, type CommandContext, word } from '../command.js';
import { leaveAll } from './pubsub-commands.js';
import { arrayReply, bulkReply, integerReply, mapReply, nullReply, okReply, pongReply, type Reply, simpleReply } from '../reply.js';

/** The Redis version clients are told: the 7.x command set and replies this server follows. */
export const redisVersionCompatible = '7.2.0';

const ping: Command = {
  name: 'ping',
  arity: -1,
  kind: 'connection',
  flags: ['fast'],
  run(context, args) {
    if (args.length > 2) throw new ReplyError("ERR wrong number of arguments for 'ping' command");
    const { session } = context;
    // Subscribed under RESP2, PING answers in the shape of a message: ["pong", argument or ""].
    if (session.protocol === 2 && session.channels.size + session.patterns.size > 0) {
      return arrayReply([bulkReply('pong'), bulkReply(args.length === 2 ? args[1] : '')]);
    }
    return args.length === 2 ? bulkReply(args[1]) : pongReply;
  },
};

const echo: Command = { name: 'echo', arity: 2, kind: 'connection', flags: ['fast'], run: (_context, args) => bulkReply(args[1]) };

const quit: Command = {
  name: 'quit',
  arity: -1,
  kind: 'connection',
  noAuth: true,
  flags: ['fast', 'no-auth'],
  run(context) {
    context.session.closeAfterReply = true;
    return okReply;
  },
};

const select: Command = {
  name: 'select',
  arity: 2,
  kind: 'connection',
  flags: ['fast'],
  run(_context, args) {
    const index = integerArg(args[1], 'ERR invalid DB index');
    // One keyspace: database 0. Others are refused as a Redis with `databases 1` refuses them.
    if (index !== 0) throw new ReplyError('ERR DB index is out of range');
    return okReply;
  },
};

/** AUTH [username] password: only the `default` user exists. */
function authenticate(context: CommandContext, username: Buffer | undefined, password: Buffer): void {
  const { server, session } = context;
  if (!server.passwordSet) {
    // Redis 7 (acl.c): with no password, the default user accepts any password given with its name.
    if (username !== undefined && username.toString('latin1') === 'default') {
      session.authenticated = true;
      return;
    }
    throw new ReplyError(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    );
  }
  const userOk = username === undefined || username.toString('latin1') === 'default';
  // The password is checked whatever the user name, so a wrong user costs the same time as a wrong password.
  const passwordOk = server.checkPassword(password);
  if (!userOk || !passwordOk) throw new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
  session.authenticated = true;
}

const auth: Command = {
  name: 'auth',
  arity: -2,
  kind: 'connection',
  noAuth: true,
  flags: ['fast', 'no-auth'],
  run(context, args) {
    if (args.length > 3) throw new ReplyError('ERR syntax error');
    authenticate(context, args.length === 3 ? args[1] : undefined, args.at(-1) as Buffer);
    return okReply;
  },
};

function helloReply(context: CommandContext): Reply {
  const { session } = context;
  const text = (value: string): Reply => bulkReply(value);
  return mapReply(
    [
      [text('server'), text('redis')],
      [text('version'), text(redisVersionCompatible)],
      [text('proto'), integerReply(session.protocol)],
      [text('id'), integerReply(session.id)],
      [text('mode'), text('standalone')],
      [text('role'), text('master')],
      [text('modules'), arrayReply([])],
    ],
    session.protocol,
  );
}

const hello: Command = {
  name: 'hello',
  arity: -1,
  kind: 'connection',
  noAuth: true,
  flags: ['fast', 'no-auth'],
  run(context, args) {
    let protocol = context.session.protocol;
    let at = 1;
    if (args.length > 1) {
      const text = args[1].toString('latin1');
      if (!/^-?[0-9]{1,19}$/.test(text)) throw new ReplyError('ERR Protocol version is not an integer or out of range');
      const version = Number(text);
      if (version !== 2 && version !== 3) throw new ReplyError('NOPROTO unsupported protocol version');
      protocol = version;
      at = 2;
    }
    let name: string | undefined;
    let credentials: [Buffer, Buffer] | undefined;
    // Every option is checked before any takes effect: a syntax error leaves the connection as it was.
    for (; at < args.length; at++) {
      const option = word(args[at]);
      if (option === 'auth' && at + 2 < args.length) {
        credentials = [args[at + 1], args[at + 2]];
        at += 2;
      } else if (option === 'setname' && at + 1 < args.length) {
        name = clientName(args[++at]);
      } else throw new ReplyError(`ERR Syntax error in HELLO option '${args[at].toString('latin1')}'`);
    }
    if (credentials !== undefined) authenticate(context, ...credentials);
    if (!context.session.authenticated)
      throw new ReplyError(
        'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      );
    context.session.protocol = protocol;
    if (name !== undefined) context.session.name = name;
    return helloReply(context);
  },
};

/** Redis allows client names of printable ASCII without spaces. */
function clientName(arg: Buffer): string {
  for (const byte of arg) {
    if (byte < 0x21 || byte > 0x7e) throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  return arg.toString('latin1');
}

const client: Command = {
  name: 'client',
  arity: -2,
  kind: 'connection',
  flags: [],
  run(context, args) {
    const sub = word(args[1]);
    const { session } = context;
    if (sub === 'setname' && args.length === 3) {
      session.name = clientName(args[2]);
      return okReply;
    }
    if (sub === 'getname' && args.length === 2) return session.name === '' ? nullReply(session.protocol) : bulkReply(session.name);
    if (sub === 'id' && args.length === 2) return integerReply(session.id);
    if (sub === 'setinfo' && args.length === 4) return setInfo(context, word(args[2]), args[3]);
    if (sub === 'info' && args.length === 2) return bulkReply(`${clientLine(context, session.id)}\n`);
    if (sub === 'list' && args.length === 2)
      return bulkReply([...context.server.sessions.keys()].map((id) => `${clientLine(context, id)}\n`).join(''));
    if (['setname', 'getname', 'id', 'setinfo', 'info', 'list'].includes(sub)) {
      throw new ReplyError(`ERR wrong number of arguments for 'client|${sub}' command`);
    }
    throw new ReplyError(`ERR unknown subcommand '${args[1].toString('latin1')}'. Try CLIENT HELP.`);
  },
};

function setInfo(context: CommandContext, attribute: string, value: Buffer): Reply {
  const text = value.toString('latin1');
  if (/[^\x21-\x7e]/.test(text)) throw new ReplyError(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
  if (attribute === 'lib-name') context.session.libName = text;
  else if (attribute === 'lib-ver') context.session.libVersion = text;
  else throw new ReplyError(`ERR Unrecognized option '${attribute}'`);
  return okReply;
}

function clientLine(context: CommandContext, id: number): string {
  const session = context.server.sessions.get(id);
  if (session === undefined) return '';
  return `id=${id} name=${session.name} db=0 resp=${session.protocol} lib-name=${session.libName} lib-ver=${session.libVersion}`;
}

const reset: Command = {
  name: 'reset',
  arity: 1,
  kind: 'connection',
  noAuth: true,
  flags: ['fast', 'no-auth'],
  run(context) {
    const { session, server } = context;
    session.protocol = 2;
    session.name = '';
    session.authenticated = !server.passwordSet;
    session.transaction = undefined;
    session.transactionFailed = false;
    session.watched.clear();
    leaveAll(context);
    return simpleReply('RESET');
  },
};

export const connectionCommands: Command[] = [ping, echo, quit, select, auth, hello, client, reset];
