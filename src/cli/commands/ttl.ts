import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, note, report } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import { withStore } from '../open-store.js';

export function registerTtl(program: Command): void {
  program
    .command('ttl')
    .description('print how long a key has to live: "<ms> ms, expires at <ISO time>", or "no expiry" (exit 1 if it is not there)')
    .argument('<dir>', 'store directory')
    .argument('<key>', 'key')
    .addHelpText('after', '\nWith --json: {"key","found":true,"ttlMs","expiresAt"} (epoch ms; both null for a key without expiry).')
    .action(
      handled(async (dir: string, key: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        // No value is printed, so --encoding does not matter: 'utf8' decodes any stored value
        // without failing (a value that is not JSON would make getEntry throw under 'json').
        return withStore(dir, { ...context, encoding: 'utf8' }, { create: false }, async (store) => {
          // Read before the store reads its clock, so a key it finds live has ttlMs > 0 (unless the
          // system clock steps back in between: never less than 0).
          const nowMs = Date.now();
          const entry = store.getEntry(key);
          if (entry === undefined) {
            // An expired key does not exist, as for get.
            if (context.json) await report(context, { key, found: false }, undefined);
            else note(`durable-kv ttl: key not found: ${key}`);
            return exitCodes.failure;
          }
          const { expiresAt } = entry;
          if (expiresAt === null) {
            await report(context, { key, found: true, ttlMs: null, expiresAt: null }, 'no expiry');
            return exitCodes.ok;
          }
          const ttlMs = Math.max(0, expiresAt - nowMs);
          await report(context, { key, found: true, ttlMs, expiresAt }, `${ttlMs} ms, expires at ${isoTime(expiresAt)}`);
          return exitCodes.ok;
        });
      }),
    );
}

/** Epoch ms as an ISO time; past what a Date holds (±8.64e15 ms, year 275760), the number itself. */
function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `epoch ms ${ms}` : date.toISOString();
}
