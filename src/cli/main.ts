#!/usr/bin/env node
/**
 * `durable-kv`: the command-line tool. Commands live in ./commands/, one per file; see README.md here
 * for the exit codes and output formats.
 */
import { CommanderError } from 'commander';
import { createProgram } from './program.js';
import { describeFailure, exitCodes, formatFailure } from './exit-codes.js';

// A reader that goes away (`durable-kv dump dir | head`) is not an error: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? exitCodes.ok);
  process.stderr.write(formatFailure('durable-kv: cannot write the output', describeFailure(error, undefined)));
  process.exit(exitCodes.failure);
});

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has printed the message (or the help, or the version) already.
    process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
  } else {
    // Commands handle their own errors (see action.ts); this is a bug or a failure outside one.
    const failure = describeFailure(error, undefined);
    process.stderr.write(formatFailure('durable-kv', failure));
    process.exitCode = failure.exitCode;
  }
}
