import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { Option, InvalidArgumentError as CommanderInvalidArgument, type Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, note, report, type CliContext } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';
import { startProgress } from '../progress.js';
import { readLines } from '../lines.js';
import { fromRecord } from '../values.js';
import { InvalidArgumentError } from '../../errors.js';
import type { BatchOperation, DurableKVStore } from '../../store.js';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'read JSON Lines {"key":…,"value":…} (as export writes them; "expiresAt" keeps an expiry) and put each, in atomic batches; creates the store if needed',
    )
    .argument('<dir>', 'store directory')
    .argument('[file]', 'input file; stdin if omitted')
    .addOption(new Option('--batch-size <n>', 'operations per atomic batch').default(1000).argParser(positiveInteger))
    .action(
      handled(async (dir: string, file: string | undefined, options: { batchSize: number }, command: Command) => {
        const context = contextOf(command);
        const total = await inputBytes(file);
        const input = file === undefined ? process.stdin : createReadStream(file);
        const result = await withStore(dir, context, { create: true }, (store) =>
          importFrom(store, input, context, { total, batchSize: options.batchSize }),
        );
        await report(
          context,
          { ...result, file: file ?? null },
          `imported ${result.imported} records (${result.batches} batches of up to ${options.batchSize}) from ${file ?? 'stdin'}`,
        );
      }),
    );
}

interface ImportResult {
  imported: number;
  batches: number;
  lines: number;
}

/**
 * A batch is also cut once its lines add up to this many characters, so memory stays bounded and a
 * batch of large values stays far below the WAL's record limit (256 MiB), whatever --batch-size says.
 */
const batchCharsMax = 8 * 1024 * 1024;

/**
 * Puts every line's key and value, `batchSize` at a time. Awaiting each batch before reading on is
 * the backpressure: the input is read no faster than the store makes the writes durable.
 */
async function importFrom(
  store: DurableKVStore<unknown>,
  input: Readable,
  context: CliContext,
  options: { total: number | undefined; batchSize: number },
): Promise<ImportResult> {
  const progress = startProgress(context, { label: 'import', total: options.total, unit: 'bytes' });
  const result: ImportResult = { imported: 0, batches: 0, lines: 0 };
  let batch: Array<BatchOperation<unknown>> = [];
  let batchChars = 0;
  let firstLine = 1;
  let committedLine = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    try {
      await store.batch(batch);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw new InvalidArgumentError(`lines ${firstLine}..${result.lines}: ${error.message}`);
      throw error;
    }
    result.imported += batch.length;
    result.batches++;
    committedLine = result.lines;
    batch = [];
    batchChars = 0;
  };
  try {
    for await (const line of readLines(input, (bytes) => progress.increment(bytes))) {
      result.lines++;
      if (batch.length === 0) firstLine = result.lines;
      if (line.trim().length === 0) continue;
      batch.push({ type: 'put', ...fromRecord(parseLine(line, result.lines), context.encoding, `line ${result.lines}`) });
      batchChars += line.length;
      if (batch.length >= options.batchSize || batchChars >= batchCharsMax) await flush();
    }
    await flush();
    return result;
  } catch (error) {
    progress.stop();
    // With --json, stderr is the error document alone; `stats` tells what got in.
    if (!context.json)
      note(
        `durable-kv import: ${result.imported} records (lines 1..${committedLine}) were imported before the error; nothing after them was`,
      );
    throw error;
  } finally {
    progress.stop();
  }
}

function parseLine(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`line ${lineNumber}: not valid JSON: ${(error as Error).message}`);
  }
}

/** The input's size, for a progress bar: a named file, or stdin when it is redirected from a file. */
async function inputBytes(file: string | undefined): Promise<number | undefined> {
  if (file !== undefined) {
    const stats = await stat(file).catch(() => undefined);
    if (stats === undefined || !stats.isFile()) throw new CliError(`cannot read ${file}: no such file`, exitCodes.usage, 'ERR_NO_FILE');
    return stats.size;
  }
  const stats = await promisify(fs.fstat)(0).catch(() => undefined);
  return stats?.isFile() ? stats.size : undefined;
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new CommanderInvalidArgument('must be a positive integer');
  return value;
}
