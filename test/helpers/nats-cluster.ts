/** The replication tests' NATS cluster: durable-kv/testing's `NatsCluster`. */
export { NatsCluster, type NatsNode, natsServerMissing } from '../../src/testing/nats-cluster.js';
