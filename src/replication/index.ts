/**
 * durable-kv/replication: a store's log replicated through a NATS JetStream stream. `replicate`
 * makes a store its group's leader; `follow` keeps a read-only replica up to date and can `promote` it.
 */
export { replicate, Replicator, type LeaderStats, type ReplicatorEvents } from './replicate.js';
export { follow, Follower, type FollowerEvents, type FollowerStats, type FollowOptions } from './follower.js';
export type { GroupOptions, ReplicateOptions } from './options.js';
export type { AckMode } from './shipper.js';
export { NotLeaderError, ReplicationFailedError } from '../errors.js';
export {
  runReplicaNode,
  ReplicaNode,
  type NodeRole,
  type ReplicaNodeEvents,
  type ReplicaNodeOptions,
  type ReplicaNodeStats,
} from './node.js';
