import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableKVStore } from '../../src/index.js';
import { scanSegment } from '../../src/format/wal-reader.js';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliArgs = ['--import', 'tsx', 'src/cli/main.ts'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs `durable-kv ...args` as a child process from the project root, as a user would. Its stdin,
 * stdout and stderr are pipes (never a terminal); `input` is written to stdin, which is then closed.
 */
export async function runCli(args: string[], options: { input?: string | Uint8Array } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [...cliArgs, ...args], { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(options.input);
  const [code] = (await once(child, 'close')) as [number | null];
  const stdoutBytes = Buffer.concat(stdout);
  return { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(stderr).toString('utf8') };
}

/** A store in `dir` holding `count` keys `k0`.. with values `value <i>`, one put (one WAL record) each; closed. */
export async function seedStore(dir: string, count: number): Promise<void> {
  const store = await DurableKVStore.open(dir);
  for (let i = 0; i < count; i++) await store.put(`k${i}`, `value ${i}`);
  await store.close();
}

export const firstSegment = 'wal-00000000000000000001.wal';

/** Where each record of a WAL segment starts, and its size. */
export async function recordSpans(file: string): Promise<Array<{ offset: number; bytes: number }>> {
  const bytes = await readFile(file);
  return scanSegment(bytes, 0).records.map(({ offset, bytes: size }) => ({ offset, bytes: size }));
}

/** Every file in `dir` with its bytes: to show a command changed nothing. */
export async function directoryContents(dir: string): Promise<Record<string, string>> {
  const contents: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) contents[name] = (await readFile(path.join(dir, name))).toString('hex');
  return contents;
}

/** Whether util-linux `script` is here to run a command on a pseudo-terminal. */
export function hasScript(): boolean {
  return process.platform === 'linux' && spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}
