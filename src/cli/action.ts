import type { Command } from 'commander';
import { describeFailure, exitCodes, formatFailure } from './exit-codes.js';

/** A command's work: its positional arguments (the store directory first), then commander's options and command. */
// `never[]`: any handler's own parameter list is assignable to it, and commander supplies the arguments.
type Handler = (...args: never[]) => Promise<number | undefined>;

/**
 * Wraps a command's handler: its result becomes the exit code, and any error becomes one message on
 * stderr (JSON with --json) and the exit code its kind maps to — never a stack trace.
 */
export function handled(handler: Handler): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const dir = typeof args[0] === 'string' ? args[0] : undefined;
    try {
      process.exitCode = (await handler(...(args as never[]))) ?? exitCodes.ok;
    } catch (error) {
      const failure = describeFailure(error, dir);
      const json = command.optsWithGlobals<{ json?: boolean }>().json === true;
      process.stderr.write(json ? `${JSON.stringify({ error: failure })}\n` : formatFailure(`durable-kv ${command.name()}`, failure));
      process.exitCode = failure.exitCode;
    }
  };
}
