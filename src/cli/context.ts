import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { ValueEncoding } from '../codec.js';

/** The options every command takes (`durable-kv --help` lists them). */
export interface GlobalOptions {
  json: boolean;
  encoding: ValueEncoding;
  progress: boolean;
}

/** What a command needs besides its arguments: the global options and where output goes. */
export interface CliContext extends GlobalOptions {
  /** Whether a progress bar may be drawn: stderr is a terminal and --no-progress was not given. */
  showProgress: boolean;
}

export function contextOf(command: Command): CliContext {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { ...options, showProgress: options.progress && process.stderr.isTTY === true };
}

/** Writes with backpressure: waits for 'drain' when the stream's buffer is full (a slow pipe or disk). */
export async function write(stream: Writable, chunk: string | Uint8Array): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

/** The command's result on stdout: `json` with --json, else the human text (if any). */
export async function report(context: CliContext, json: unknown, human: string | undefined): Promise<void> {
  if (context.json) await write(process.stdout, `${JSON.stringify(json)}\n`);
  else if (human !== undefined && human.length > 0) await write(process.stdout, human.endsWith('\n') ? human : `${human}\n`);
}

/** A note for a person, on stderr (stdout stays data only). */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
