/**
 * Login sessions that expire by themselves: keys `session:<user>:<id>` put with a TTL, a user's
 * sessions listed with one prefix scan, refreshed while in use, and all of them deleted at once to
 * log the user out everywhere.
 *
 *   npm run example:sessions
 *
 * The user is the first part of the key after `session:`, so one prefix range walks exactly that
 * user's sessions, in order, without touching anyone else's. The prefix ends with ':' so that user
 * 'al' does not also get 'alice''s sessions (user names must not contain ':').
 *
 * Time comes from an injected clock that the example moves by hand, so the output is the same on
 * every run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DurableKVStore } from '../src/index.js';

interface Session {
  device: string;
  theme: string;
}

const minute = 60_000;
const sessionTtlMs = 30 * minute;
const start = Date.UTC(2025, 0, 1, 9); // 09:00
let now = start; // the injected clock: epoch ms, moved by the example

const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-sessions-'));
const store = await DurableKVStore.open(dir, { valueEncoding: 'json', clock: () => now });

const sessionKey = (user: string, id: string) => `session:${user}:${id}`;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

async function login(user: string, id: string, device: string): Promise<void> {
  await store.put(sessionKey(user, id), { device, theme: 'light' } satisfies Session, { ttlMs: sessionTtlMs });
}

/** A user's live sessions: one prefix scan; an expired one is not returned, even before it is swept. */
function sessionsOf(user: string): string[] {
  return [...store.keys({ prefix: `session:${user}:` })].map((key) => {
    const { value, expiresAt } = store.getEntry(key)!; // getEntry: the value with its expiry
    const { device, theme } = value as Session;
    return `${key.split(':')[2]} (${device}, ${theme}, until ${hhmm(expiresAt!)})`;
  });
}

function show(label: string): void {
  console.log(`${hhmm(now)} ${label}`);
  for (const user of ['alice', 'bob']) console.log(`  ${user}: ${sessionsOf(user).join(', ') || 'no sessions'}`);
}

await login('alice', 's1', 'laptop');
await login('alice', 's2', 'phone');
await login('bob', 's3', 'laptop');
show('alice logs in twice, bob once (30 min sessions)');

now = start + 20 * minute;
// Alice is active on her phone: `expire` slides its session 30 min from now.
const refreshed = await store.expire(sessionKey('alice', 's2'), { ttlMs: sessionTtlMs });
// She changes the theme on her laptop: the value changes, but `keepTtl` keeps the session's end
// (a put without it would make the session live forever).
await store.put(sessionKey('alice', 's1'), { device: 'laptop', theme: 'dark' } satisfies Session, { keepTtl: true });
await login('bob', 's4', 'phone');
show('alice uses her phone (refreshed) and sets a theme on her laptop (expiry kept); bob logs in on his phone');

now = start + 31 * minute;
show('the sessions not refreshed since 09:00 have expired');
const laptopGone = store.getEntry(sessionKey('alice', 's1')) === undefined;

await login('alice', 's5', 'tablet');
// Log out everywhere: one atomic, durable write that removes every key under the prefix.
const { deleted } = await store.deleteRange({ prefix: 'session:alice:' });
show(`alice logs in on a tablet, then logs out everywhere: deleteRange removed ${deleted} sessions`);

const bobLeft = sessionsOf('bob').length;
await store.close();
rmSync(dir, { recursive: true, force: true });
const ok = refreshed.ok && laptopGone && deleted === 2 && bobLeft === 1;
console.log(
  ok ? `sessions: expired session gone, alice logged out of ${deleted} sessions, bob's ${bobLeft} session untouched` : 'sessions: FAILED',
);
if (!ok) process.exit(1);
