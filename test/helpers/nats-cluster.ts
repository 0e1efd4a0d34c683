/** The replication tests' NATS cluster: durable-kv/testing's `NatsCluster`, and one per suite. */
import { afterAll, beforeAll } from 'vitest';
import { NatsCluster } from '../../src/testing/nats-cluster.js';

export { freePort, NatsCluster, type NatsNode, natsServerMissing } from '../../src/testing/nats-cluster.js';

/**
 * A cluster of `size` nodes for the calling `describe`: started before its tests, stopped after
 * every other afterAll of the suite has run (hooks run as a stack), paused nodes resumed first.
 * The returned object stands for the started cluster.
 */
export function useNatsCluster(size = 3): NatsCluster {
  let started: NatsCluster | undefined;
  beforeAll(async () => {
    started = await NatsCluster.start(size);
  }, 60_000);
  afterAll(async () => {
    for (const node of started?.nodes ?? []) started?.resume(node);
    await started?.stop();
  });
  return new Proxy({} as NatsCluster, {
    get(_target, name) {
      if (started === undefined) throw new Error('the NATS cluster is used before its beforeAll started it');
      const value = Reflect.get(started, name, started);
      return typeof value === 'function' ? value.bind(started) : value;
    },
  });
}
