import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { natsServerMissing } from '../helpers/nats-cluster.js';

const run = promisify(execFile);
const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
const examples = Object.keys(scripts).filter((name) => name.startsWith('example:'));

// Every runnable example (npm run example:<name>) must exit 0: they are the README's promises.
describe('examples', () => {
  it('are wired as npm scripts', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of examples) {
    // The replication example runs real NATS servers: skipped, naming the package, without them.
    const skip = name === 'example:replication' && natsServerMissing !== undefined;
    it.skipIf(skip)(`${name} exits 0${skip ? ` (${natsServerMissing})` : ''}`, async () => {
      const { stdout } = await run('npm', ['run', '--silent', name], { timeout: 60_000 });
      expect(stdout.length).toBeGreaterThan(0);
    });
  }
});

// The TTL, range and conditional-batch examples: their output carries the numbers that prove the
// property each one shows, so check those, not just the exit code.
describe('examples: what they prove', () => {
  const output = async (name: string) => (await run('npm', ['run', '--silent', name], { timeout: 60_000 })).stdout;

  it.skipIf(natsServerMissing !== undefined)(
    `example:replication: the follower takes over from a killed leader with every acknowledged SET (${natsServerMissing ?? 'nats-server found'})`,
    async () => {
      const stdout = await output('example:replication');
      expect(stdout).toContain('500 SETs acknowledged');
      expect(stdout).toMatch(
        /a write to the follower: READONLY You can't write against a read only replica\. The leader is 127\.0\.0\.1:\d+\./,
      );
      expect(stdout).toMatch(/took the lead after \d+ ms/);
      expect(stdout).toContain('500 of 500 acknowledged SETs on the new leader; lost: 0');
      expect(stdout).toContain('a write to the new leader: OK');
    },
  );

  it('example:cluster-mode: 4 cluster workers count through the Redis-protocol server, and every answered INCR survives a restart', async () => {
    const stdout = await output('example:cluster-mode');
    expect(stdout.match(/: 250 INCRs answered/g)).toHaveLength(4);
    expect(stdout).toContain('workers answered 1000 INCRs; after a restart the store holds visits = 1000');
  });

  it('example:rate-limiter lets exactly min(requests, limit) through per client per window, and the counters expire', async () => {
    const stdout = await output('example:rate-limiter');
    expect(stdout).toContain('window 0: allowed alice 10 of 25 (counter 25), bob 10 of 12 (counter 12), carol 4 of 4 (counter 4)');
    expect(stdout).toContain('window 1: allowed alice 8 of 8 (counter 8), bob 10 of 30 (counter 30), carol 10 of 10 (counter 10)');
    expect(stdout).toContain('window 2: allowed alice 10 of 40 (counter 40), bob 1 of 1 (counter 1), carol 10 of 11 (counter 11)');
    const allowed = [...stdout.matchAll(/(\w+) (\d+) of (\d+) \(counter (\d+)\)/g)];
    expect(allowed).toHaveLength(9);
    for (const [, , got, requested, counter] of allowed) {
      expect(Number(got)).toBe(Math.min(Number(requested), 10));
      expect(Number(counter)).toBe(Number(requested));
    }
    expect(stdout).toContain('counters visible: 3 at ttl - 1 ms, 0 at ttl; keys left after active expiry: 0');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('rate limiter: limit held for every client in every window');
  });

  it('example:sessions lists per user, refreshes, expires, and logs one user out everywhere', async () => {
    const stdout = await output('example:sessions');
    expect(stdout).toContain('alice: s1 (laptop, dark, until 09:30), s2 (phone, light, until 09:50)'); // keepTtl / expire
    expect(stdout).toMatch(/09:31 the sessions not refreshed since 09:00 have expired\n {2}alice: s2 \(phone[^\n]*\n {2}bob: s4 \(phone/);
    expect(stdout).toContain('deleteRange removed 2 sessions\n  alice: no sessions\n  bob: s4 (phone, light, until 09:50)');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      "sessions: expired session gone, alice logged out of 2 sessions, bob's 1 session untouched",
    );
  });

  it('example:windowed-counts counts every message once per window despite restarts and a racing redelivery', async () => {
    const stdout = await output('example:windowed-counts');
    const windows = [...stdout.matchAll(/window \+(\d+)s closed: (\{.*\})/g)].map(([, start, counts]) => [
      Number(start),
      JSON.parse(counts!),
    ]);
    expect(windows).toEqual([
      [0, { cart: 10, checkout: 11, home: 19 }],
      [10, { cart: 10, checkout: 9, home: 21 }],
      [20, { cart: 10, checkout: 10, home: 20 }],
      [30, { cart: 10, checkout: 11, home: 19 }],
    ]);
    expect(stdout.match(/consumer restarted/g)).toHaveLength(2);
    expect(stdout).toContain('went to two consumers at once: 1 commit refused');
    expect(stdout).toContain('delivered 192 messages for 160: counted 160, skipped 32 already counted');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('windowed counts: every message counted exactly once in every window');
  });

  it('example:level runs a classic-level app on durable-kv/level by changing one import line, with the same output', async () => {
    const stdout = await output('example:level');
    expect(stdout).toContain("- import { ClassicLevel as Level } from 'classic-level';");
    expect(stdout).toMatch(/\n\+ import \{ DurableLevel as Level \} from 'file:\/\/[^']*\/src\/level\/index\.ts';\n/);
    // The app's own last line, in both columns.
    expect(stdout).toMatch(
      /inventory: 5 orders, 3 kept \(\$49\.00\), intact after reopen +\| inventory: 5 orders, 3 kept \(\$49\.00\), intact after reopen\n/,
    );
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^same output from classic-level and durable-kv\/level \(\d+ lines\)$/);
  });
});
