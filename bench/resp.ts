/**
 * durable-kv's Redis-protocol server against redis-server itself, side by side, with redis-benchmark
 * (SET and GET, 100-byte values over 100k random keys, 50 connections, pipelines of 1 and of 16).
 *
 * Two pairings, each compared at the same promise to the client:
 *   durable      redis-server --appendonly yes --appendfsync always   vs   durable-kv serve --sync always
 *   not durable  redis-server with no persistence                     vs   durable-kv serve --sync never
 * Each (pairing, server) runs 3 times, the servers alternating; medians of requests/s, and ours ÷ Redis.
 *
 *   npm run bench:resp [-- --requests 200000]
 *
 * Needs redis-server and redis-benchmark on the PATH (Debian: apt-get install -y redis-server redis-tools).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/testing/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requestsArg = process.argv.indexOf('--requests');
const requests = requestsArg === -1 ? 200_000 : Number(process.argv[requestsArg + 1]);
const runs = 3;
const pipelines = [1, 16];

function onPath(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

interface Started {
  child: ChildProcess;
  port: number;
  dir: string;
}

async function startRedis(durable: boolean): Promise<Started> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const persistence = durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...persistence], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return { child, port, dir };
}

async function startOurs(durable: boolean): Promise<Started> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-dkv-serve-'));
  const args = [
    '--import',
    'tsx',
    path.join(root, 'src/cli/main.ts'),
    'serve',
    dir,
    '--port',
    String(port),
    '--sync',
    durable ? 'always' : 'never',
  ];
  const child = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
  await waitForPort(port);
  return { child, port, dir };
}

async function stop(started: Started): Promise<void> {
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  started.child.kill('SIGTERM');
  await exited;
  fs.rmSync(started.dir, { recursive: true, force: true });
}

/** requests/s per test (SET, GET) from redis-benchmark's CSV. */
function benchmark(port: number, pipeline: number): Record<string, number> {
  const csv = execFileSync(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'set,get',
      '-n',
      String(requests),
      '-c',
      '50',
      '-P',
      String(pipeline),
      '-r',
      '100000',
      '-d',
      '100',
      '--csv',
    ],
    { encoding: 'utf8' },
  );
  const rates: Record<string, number> = {};
  for (const line of csv.trim().split('\n').slice(1)) {
    const [test, rps] = line.split(',').map((field) => field.replace(/"/g, ''));
    rates[test] = Number(rps);
  }
  return rates;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  const missing = ['redis-server', 'redis-benchmark'].filter((binary) => !onPath(binary));
  if (missing.length > 0) {
    console.log(`skipped: ${missing.join(' and ')} not on the PATH (Debian: apt-get install -y redis-server redis-tools)`);
    return;
  }
  const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  console.log(`durable-kv serve against ${version}; redis-benchmark -t set,get -n ${requests} -c 50 -r 100000 -d 100; medians of ${runs}`);
  console.log(
    `${'pairing'.padEnd(12)} ${'pipeline'.padEnd(9)} ${'test'.padEnd(5)} ${'redis rps'.padStart(11)} ${'ours rps'.padStart(11)} ${'ours ÷ redis'.padStart(13)}`,
  );
  for (const durable of [true, false]) {
    for (const pipeline of pipelines) {
      const samples: Record<'redis' | 'ours', Array<Record<string, number>>> = { redis: [], ours: [] };
      for (let run = 0; run < runs; run++) {
        for (const which of ['redis', 'ours'] as const) {
          const started = which === 'redis' ? await startRedis(durable) : await startOurs(durable);
          try {
            samples[which].push(benchmark(started.port, pipeline));
          } finally {
            await stop(started);
          }
        }
      }
      for (const test of ['SET', 'GET']) {
        const redis = median(samples.redis.map((sample) => sample[test]));
        const ours = median(samples.ours.map((sample) => sample[test]));
        const label = durable ? 'durable' : 'not durable';
        console.log(
          `${label.padEnd(12)} ${String(pipeline).padEnd(9)} ${test.padEnd(5)} ${redis.toFixed(0).padStart(11)} ${ours.toFixed(0).padStart(11)} ${`${(ours / redis).toFixed(2)}×`.padStart(13)}`,
        );
      }
    }
  }
}

await main();
