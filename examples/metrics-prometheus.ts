/**
 * Exports a store's figures to Prometheus with prom-client, on a loopback /metrics endpoint.
 *
 *   npm run example:metrics-prometheus
 *
 * It writes for a moment, scrapes its own endpoint once, prints the durable-kv lines and exits.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DurableKVStore } from '../src/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-metrics-'));
const store = await DurableKVStore.open(dir);
const registry = new Registry();

const writes = new Counter({ name: 'durablekv_writes_total', help: 'Acknowledged writes', labelNames: ['type'], registers: [registry] });
const writeSeconds = new Histogram({
  name: 'durablekv_write_seconds',
  help: 'Write latency, call to acknowledgement',
  registers: [registry],
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
});
const fsyncSeconds = new Histogram({
  name: 'durablekv_fsync_seconds',
  help: 'WAL fdatasync latency',
  registers: [registry],
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1],
});
const groupRecords = new Histogram({
  name: 'durablekv_group_commit_records',
  help: 'Writes per group commit',
  registers: [registry],
  buckets: [1, 2, 4, 8, 16, 32, 64, 128],
});
const walBytes = new Gauge({ name: 'durablekv_wal_bytes', help: 'Bytes in the WAL', registers: [registry] });
new Gauge({
  name: 'durablekv_keys',
  help: 'Keys in the store',
  registers: [registry],
  collect() {
    this.set(store.size);
  },
});

store.operations$.subscribe((operation) => {
  if (operation.type === 'snapshot') return;
  writes.inc({ type: operation.type });
  writeSeconds.observe(operation.durationMs / 1000);
});
store.signals$.subscribe((signal) => {
  if (signal.type === 'fsync') fsyncSeconds.observe(signal.latencyMs / 1000);
  if (signal.type === 'group-commit') {
    groupRecords.observe(signal.records);
    walBytes.set(signal.walBytes);
  }
});

const server = http.createServer(async (request, response) => {
  if (request.url !== '/metrics') return void response.writeHead(404).end();
  response.setHeader('Content-Type', registry.contentType);
  response.end(await registry.metrics());
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
console.log(`serving http://127.0.0.1:${port}/metrics`);

// 64 writers in flight for a moment, so group commit shows in the figures.
let next = 0;
await Promise.all(
  Array.from({ length: 64 }, async () => {
    while (next < 5_000) await store.put(`event:${next++}`, JSON.stringify({ at: Date.now() }));
  }),
);

const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const lines = body
  .split('\n')
  .filter((line) =>
    /^durablekv_(writes_total|keys|wal_bytes|group_commit_records_(sum|count)|fsync_seconds_(sum|count)|write_seconds_count)/.test(line),
  );
console.log(lines.join('\n'));

server.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
