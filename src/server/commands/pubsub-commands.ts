/**
 * SUBSCRIBE, PSUBSCRIBE, UNSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, as Redis 7 answers them: one
 * confirmation per channel or pattern, each with the connection's subscription count after it.
 */
import { Buffer } from 'node:buffer';
import type { Command, CommandContext } from '../command.js';
import { bulkReply, integerReply, nullReply, pushReply, type Reply } from '../reply.js';

function confirmation(context: CommandContext, kind: string, name: Buffer | undefined): Reply {
  const { session } = context;
  const count = session.channels.size + session.patterns.size;
  const subject = name === undefined ? nullReply(session.protocol) : bulkReply(name);
  return pushReply([bulkReply(kind), subject, integerReply(count)], session.protocol);
}

function subscribeCommand(name: 'subscribe' | 'psubscribe'): Command {
  const patterns = name === 'psubscribe';
  return {
    name,
    arity: -2,
    kind: 'connection',
    flags: ['pubsub', 'noscript', 'loading', 'stale'],
    run(context, args) {
      const { session, server } = context;
      const replies = args.slice(1).map((arg) => {
        const set = patterns ? session.patterns : session.channels;
        const key = arg.toString('latin1');
        if (!set.has(key)) {
          set.add(key);
          if (patterns) server.pubsub.psubscribe(session.subscriber, arg);
          else server.pubsub.subscribe(session.subscriber, arg);
        }
        return confirmation(context, name, arg);
      });
      return replies.flat();
    },
  };
}

function unsubscribeCommand(name: 'unsubscribe' | 'punsubscribe'): Command {
  const patterns = name === 'punsubscribe';
  return {
    name,
    arity: -1,
    kind: 'connection',
    flags: ['pubsub', 'noscript', 'loading', 'stale'],
    run(context, args) {
      const set = patterns ? context.session.patterns : context.session.channels;
      const names = args.length > 1 ? args.slice(1) : [...set].map((each) => Buffer.from(each, 'latin1'));
      // Nothing to leave: one confirmation with a null name, as Redis sends.
      if (names.length === 0) return confirmation(context, name, undefined);
      return names.flatMap((arg) => {
        leave(context, arg, patterns);
        return confirmation(context, name, arg);
      });
    },
  };
}

function leave(context: CommandContext, arg: Buffer, patterns: boolean): void {
  const { session, server } = context;
  const set = patterns ? session.patterns : session.channels;
  set.delete(arg.toString('latin1'));
  if (patterns) server.pubsub.punsubscribe(session.subscriber, arg);
  else server.pubsub.unsubscribe(session.subscriber, arg);
}

/** Every subscription of the connection ends (RESET, a closed connection). */
export function leaveAll(context: CommandContext): void {
  for (const channel of [...context.session.channels]) leave(context, Buffer.from(channel, 'latin1'), false);
  for (const pattern of [...context.session.patterns]) leave(context, Buffer.from(pattern, 'latin1'), true);
}

const publish: Command = {
  name: 'publish',
  arity: 3,
  kind: 'connection',
  flags: ['pubsub', 'loading', 'stale', 'fast'],
  run: (context, args) => integerReply(context.server.pubsub.publish(args[1], args[2])),
};

export const pubsubCommands: Command[] = [
  subscribeCommand('subscribe'),
  subscribeCommand('psubscribe'),
  unsubscribeCommand('unsubscribe'),
  unsubscribeCommand('punsubscribe'),
  publish,
];
