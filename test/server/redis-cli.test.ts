/**
 * redis-cli, the tool an operator reaches for at 3 a.m., against the server: commands, INFO, SCAN
 * through --scan, and a pipe of commands through --pipe. Skipped when redis-cli is not on the PATH
 * (Debian package redis-tools; .ci/run installs it, so CI always runs this).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Served, served } from './helpers.js';

const hasRedisCli = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v redis-cli'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let serving: Served;
const run = promisify(execFile);
// Asynchronous: the server runs in this process, and a synchronous child would block it.
const cli = async (...args: string[]) =>
  (await run('redis-cli', ['-p', String(serving.port), ...args], { encoding: 'utf8' })).stdout.trim();

describe.skipIf(!hasRedisCli)('redis-cli (skipped without it: apt-get install -y redis-tools)', () => {
  beforeAll(async () => {
    serving = await served();
  });

  afterAll(async () => {
    await serving.close();
  });

  it('runs commands and reads their replies', async () => {
    expect(await cli('SET', 'greeting', 'hello world')).toBe('OK');
    expect(await cli('GET', 'greeting')).toBe('hello world');
    expect(await cli('INCRBY', 'visits', '5')).toBe('5');
    expect(await cli('TTL', 'greeting')).toBe('-1');
    expect(await cli('INFO', 'persistence')).toContain('loading:0');
  });

  it('walks every key with --scan and --pattern', async () => {
    for (let i = 0; i < 50; i++) await serving.store.put(`user:${i}`, String(i));
    const keys = (await cli('--scan', '--pattern', 'user:*')).split('\n').sort();
    expect(keys).toHaveLength(50);
    expect(new Set(keys).size).toBe(50);
  });

  it('takes a mass insert through --pipe, and every write is there', async () => {
    const commands = Array.from({ length: 1_000 }, (_, i) => `SET bulk:${i} value-${i}\r\n`).join('');
    const child = execFile('redis-cli', ['-p', String(serving.port), '--pipe'], { encoding: 'utf8' });
    let output = '';
    child.stdout?.on('data', (chunk: string) => (output += chunk));
    child.stdin?.end(commands);
    await new Promise((resolve) => child.once('exit', resolve));
    expect(output).toContain('errors: 0, replies: 1000');
    expect(serving.store.get('bulk:999')).toBe('value-999');
  });
});
