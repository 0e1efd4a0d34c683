import path from 'node:path';
import { CommanderError } from 'commander';
import { DurableKVError, StoreCorruptError } from '../errors.js';
import { isCuttable } from './inspect.js';

/** The process exit codes; `durable-kv --help` and src/cli/README.md list them for users. */
export const exitCodes = {
  ok: 0,
  /** Any other failure; also `get` or `ttl` of a missing key, and a `repair` dry run that would cut a torn tail. */
  failure: 1,
  /** Usage error, ERR_INVALID_ARG, an invalid input line, or a directory that holds no store. */
  usage: 2,
  /** ERR_STORE_LOCKED: another process has the store open. */
  locked: 3,
  /** ERR_STORE_CORRUPT, `verify` finding corruption, a `repair` dry run finding corruption to cut. */
  corrupt: 4,
} as const;

export const exitCodesHelp = `
Exit codes:
  0  success (verify: every file is clean, or only a torn tail was found)
  1  any other error; get, ttl: the key is not there; repair without --yes: it would cut a torn tail
  2  usage error, invalid argument or input (ERR_INVALID_ARG), no store in the directory
  3  the store is open in another process (ERR_STORE_LOCKED)
  4  corrupt data (ERR_STORE_CORRUPT): verify found corruption, or repair without --yes would cut some`;

/** A failure the CLI itself reports, with the exit code it maps to. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string;
  readonly hint: string | undefined;
  constructor(message: string, exitCode: number, code = 'ERR_CLI', hint?: string) {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
    this.hint = hint;
  }
}

/** A failure, as the user sees it: one message (never a stack trace), a stable code and the exit code. */
export interface Failure {
  message: string;
  code: string;
  exitCode: number;
  /** What to do about it, for a person. */
  hint?: string;
  /** Where the damage is, for ERR_STORE_CORRUPT. */
  file?: string;
  offset?: number;
}

/** The failure as one or two lines for a person: the message, then the hint indented. */
export function formatFailure(prefix: string, failure: Failure): string {
  return `${prefix}: ${failure.message}\n${failure.hint === undefined ? '' : `  ${failure.hint}\n`}`;
}

export function describeFailure(error: unknown, dir: string | undefined): Failure {
  if (error instanceof CliError) return { message: error.message, code: error.code, exitCode: error.exitCode, hint: error.hint };
  if (error instanceof CommanderError) return { message: error.message, code: error.code, exitCode: exitCodes.usage };
  if (error instanceof StoreCorruptError) {
    const file = dir === undefined ? error.file : path.join(dir, error.file);
    const where = dir === undefined ? '<dir>' : dir;
    const message = `corrupt data in ${file} at byte ${error.offset}: ${error.reason} (ERR_STORE_CORRUPT)`;
    const hint = isCuttable(error)
      ? `run \`durable-kv verify ${where}\` to list the damage, \`durable-kv repair ${where}\` to see what a repair would cut`
      : `run \`durable-kv verify ${where}\` to list the damage; repair cannot cut this kind (a snapshot, a segment header, a gap in the log): it needs a backup`;
    return { message, code: error.code, exitCode: exitCodes.corrupt, hint, file, offset: error.offset };
  }
  if (error instanceof DurableKVError) {
    if (error.code === 'ERR_STORE_LOCKED') {
      const message = `store at ${dir ?? (error as { dir?: string }).dir} is open in another process (ERR_STORE_LOCKED)`;
      return { message, code: error.code, exitCode: exitCodes.locked };
    }
    const exitCode = error.code === 'ERR_INVALID_ARG' ? exitCodes.usage : exitCodes.failure;
    return { message: `${error.message} (${error.code})`, code: error.code, exitCode };
  }
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : 'ERR_UNEXPECTED';
  const message = error instanceof Error ? error.message : String(error);
  return { message, code, exitCode: exitCodes.failure };
}
