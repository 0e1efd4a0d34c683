import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, report } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { valueFromInput } from '../values.js';

export function registerPut(program: Command): void {
  program
    .command('put')
    .description('set a key to a value (from the argument, or all of stdin with --stdin); creates the store if needed')
    .argument('<dir>', 'store directory')
    .argument('<key>', 'key')
    .argument('[value]', 'value: text, JSON text with --encoding json, or its UTF-8 bytes with --encoding binary')
    .option('--stdin', 'read the value from stdin, byte for byte (no newline is stripped)')
    .action(
      handled(async (dir: string, key: string, value: string | undefined, options: { stdin?: boolean }, command: Command) => {
        const context = contextOf(command);
        if (options.stdin === true && value !== undefined)
          throw new CliError('give the value as an argument or with --stdin, not both', exitCodes.usage, 'ERR_USAGE');
        let input: Buffer;
        if (options.stdin === true) input = await readAll(process.stdin);
        else if (value !== undefined) input = Buffer.from(value, 'utf8');
        else throw new CliError('missing value (give it as an argument, or use --stdin)', exitCodes.usage, 'ERR_USAGE');
        const parsed = valueFromInput(input, context.encoding, options.stdin === true ? 'stdin' : 'the value');
        await withStore(dir, context, { create: true }, async (store) => {
          await store.put(key, parsed);
          await report(context, { ok: true, op: 'put', key, seq: store.stats().lastSeq }, undefined);
        });
      }),
    );
}

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
