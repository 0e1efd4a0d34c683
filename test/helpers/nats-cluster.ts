/** The replication tests' NATS cluster: durable-kv/testing's `NatsCluster`. */
export { freePort, NatsCluster, type NatsNode, natsServerMissing } from '../../src/testing/nats-cluster.js';
