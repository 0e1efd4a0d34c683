/**
 * Issue 13's scenario 2 with three `durable-kv serve --replicate` processes on a real 3-node
 * nats-server cluster: the leader is paused (SIGSTOP) past its lease, another node takes over and
 * takes writes, the old leader is resumed (SIGCONT) with a client's write waiting for it. That
 * write is refused (-READONLY), none of the old leader's writes reach any node, it steps down, and
 * its data converges to the new leader's. Also: followers answer writes -READONLY naming the
 * leader, and INFO replication says who is what. Skips, naming the package, without nats-server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, natsServerMissing, useNatsCluster } from '../helpers/nats-cluster.js';
import { tempDir } from '../helpers/temp-dir.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const cli = path.join(projectRoot, 'src/cli/main.ts');
const leaseTtlMs = 1_500;

interface ServeNode {
  name: string;
  port: number;
  child: ChildProcess;
  redis: Redis;
  stderr(): string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** INFO replication as fields. */
async function replication(node: ServeNode): Promise<Record<string, string>> {
  const text = await node.redis.info('replication');
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

async function contents(node: ServeNode): Promise<Record<string, string | null>> {
  const keys = (await node.redis.keys('*')).sort();
  const values = keys.length === 0 ? [] : await node.redis.mget(...keys);
  return Object.fromEntries(keys.map((key, index) => [key, values[index]]));
}

describe.skipIf(natsServerMissing !== undefined)(`a zombie leader of served nodes (${natsServerMissing ?? 'nats-server found'})`, () => {
  const cluster = useNatsCluster();
  const nodes: ServeNode[] = [];

  afterAll(async () => {
    for (const node of nodes) {
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
      node.redis.disconnect();
    }
  });

  async function startNode(dir: string): Promise<ServeNode> {
    const port = await freePort();
    const name = `127.0.0.1:${port}`;
    const args = ['serve', dir, '--port', String(port), '--replicate', cluster.urls.join(','), '--group', 'zombie'];
    args.push('--lease-ttl-ms', String(leaseTtlMs));
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await until(`${name} serves`, async () => (/serving /.test(stderr) ? true : undefined));
    const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, enableOfflineQueue: true });
    redis.on('error', () => {});
    const node = { name, port, child, redis, stderr: () => stderr };
    nodes.push(node);
    return node;
  }

  const leaderAmong = (candidates: ServeNode[]) =>
    until('one node leads', async () => {
      const roles = await Promise.all(candidates.map((node) => replication(node).then((fields) => fields.role)));
      const leaders = candidates.filter((_node, index) => roles[index] === 'master');
      return leaders.length === 1 ? leaders[0] : undefined;
    });

  it('fences the resumed old leader: its write is refused, reaches nobody, and it converges to the new leader', async () => {
    const all = [await startNode(path.join(await tempDir(), 'a')), await startNode(path.join(await tempDir(), 'b'))];
    all.push(await startNode(path.join(await tempDir(), 'c')));
    const old = await leaderAmong(all);
    const others = all.filter((node) => node !== old);
    for (let i = 0; i < 50; i++) expect(await old.redis.set(`before:${i}`, `${i}`)).toBe('OK');
    // A follower refuses writes the way a Redis replica does, and names the leader.
    await expect(others[0].redis.set('on-a-follower', 'x')).rejects.toThrow(
      `READONLY You can't write against a read only replica. The leader is ${old.name}.`,
    );
    expect(await replication(others[0])).toMatchObject({ role: 'slave', master_host: '127.0.0.1', master_port: String(old.port) });

    old.child.kill('SIGSTOP');
    const pausedAt = Date.now();
    const next = await leaderAmong(others);
    console.log(`zombie: ${next.name} took the lead ${Date.now() - pausedAt} ms after the leader was paused (lease TTL ${leaseTtlMs} ms)`);
    expect(await next.redis.set('after', 'new leader')).toBe('OK');
    // A client of the old leader sends a write while it is paused; it is read once it resumes.
    const zombieWrite = old.redis.set('zombie', 'must not replicate').then(
      (reply) => reply,
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    old.child.kill('SIGCONT');
    expect(await zombieWrite).toMatch(/^READONLY/);
    await until('the old leader follows', async () => ((await replication(old)).role === 'slave' ? true : undefined));
    const expected = await contents(next);
    expect(expected.after).toBe('new leader');
    expect(expected.zombie).toBeUndefined();
    for (const node of all) {
      await until(`${node.name} converges`, async () =>
        JSON.stringify(await contents(node)) === JSON.stringify(expected) ? true : undefined,
      ).catch(async (error: Error) => {
        const seen = await contents(node).catch((contentsError: Error) => contentsError.message);
        throw new Error(`${error.message}: it holds ${JSON.stringify(seen).slice(0, 300)}; its log:\n${node.stderr()}`);
      });
    }
    expect(old.stderr()).toMatch(/steps down|now follower/);
  }, 120_000);
});
