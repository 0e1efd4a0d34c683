/**
 * `durable-kv/server`: the store over the Redis protocol (RESP2/RESP3), for every process on the
 * machine and every language with a Redis client.
 */
export { type RespServer, type ServeOptions, serveResp } from './serve.js';
