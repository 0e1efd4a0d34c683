/**
 * A real NATS JetStream cluster on 127.0.0.1, from the `nats-server` binary (Debian package
 * nats-server): one config per node, explicit routes, ready once every node's /jsz reports the same
 * meta leader. Nodes can be killed (SIGKILL), paused (SIGSTOP), resumed and restarted on the same
 * ports and store directories. For tests and examples of durable-kv/replication (exported from
 * durable-kv/testing); `natsServerMissing` says why such a test should skip.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Why a test needing the cluster skips, or undefined when nats-server is on the PATH. */
export const natsServerMissing: string | undefined = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v nats-server'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'nats-server is not on the PATH: apt-get install -y nats-server';
  }
})();

/** How long a cluster may take to elect its meta leader on a loaded machine. */
const readyTimeoutMs = 30_000;

interface NodePorts {
  client: number;
  route: number;
  monitor: number;
}

export interface NatsNode {
  readonly name: string;
  readonly ports: NodePorts;
  readonly url: string;
  process: ChildProcess | undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on now (for test servers). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function config(node: NatsNode, all: NatsNode[], dir: string): string {
  const routes = all.filter((other) => other !== node).map((other) => `nats-route://127.0.0.1:${other.ports.route}`);
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.ports.client}`,
    `http: 127.0.0.1:${node.ports.monitor}`,
    `jetstream { store_dir: "${path.join(dir, node.name)}", max_memory_store: 64MB, max_file_store: 1GB }`,
    `cluster { name: dkv-test, listen: 127.0.0.1:${node.ports.route}, routes: [${routes.join(', ')}] }`,
  ].join('\n');
}

export class NatsCluster {
  readonly nodes: NatsNode[];
  readonly #dir: string;

  private constructor(nodes: NatsNode[], dir: string) {
    this.nodes = nodes;
    this.#dir = dir;
  }

  /** Starts `size` nodes and resolves once they agree on a JetStream meta leader. */
  static async start(size = 3): Promise<NatsCluster> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-nats-'));
    const nodes: NatsNode[] = [];
    for (let i = 1; i <= size; i++) {
      const ports = { client: await freePort(), route: await freePort(), monitor: await freePort() };
      nodes.push({ name: `n${i}`, ports, url: `nats://127.0.0.1:${ports.client}`, process: undefined });
    }
    const cluster = new NatsCluster(nodes, dir);
    for (const node of nodes) fs.writeFileSync(path.join(dir, `${node.name}.conf`), config(node, nodes, dir));
    for (const node of nodes) cluster.#spawn(node);
    await cluster.ready();
    return cluster;
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  #spawn(node: NatsNode): void {
    node.process = spawn('nats-server', ['-c', path.join(this.#dir, `${node.name}.conf`)], { stdio: 'ignore' });
  }

  /** The meta leader's name as `node` reports it (undefined while there is none, or it does not answer). */
  async metaLeader(node: NatsNode): Promise<string | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${node.ports.monitor}/jsz`);
      const body = (await response.json()) as { meta_cluster?: { leader?: string } };
      return body.meta_cluster?.leader || undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves once every running node reports the same meta leader. */
  async ready(): Promise<string> {
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      const running = this.nodes.filter((node) => node.process !== undefined);
      const leaders = await Promise.all(running.map((node) => this.metaLeader(node)));
      if (leaders.length > 0 && leaders[0] !== undefined && leaders.every((leader) => leader === leaders[0])) return leaders[0];
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no JetStream meta leader agreed within ${readyTimeoutMs} ms`);
  }

  /** SIGKILL: the node dies as a machine would. */
  async kill(node: NatsNode): Promise<void> {
    const child = node.process;
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    node.process = undefined;
  }

  /** SIGSTOP: the node stops answering, as a machine that hangs (resume with `resume`). */
  pause(node: NatsNode): void {
    node.process?.kill('SIGSTOP');
  }

  resume(node: NatsNode): void {
    node.process?.kill('SIGCONT');
  }

  /** Starts a stopped node again, on its ports and its store directory. */
  restart(node: NatsNode): void {
    if (node.process === undefined) this.#spawn(node);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.kill(node)));
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}
