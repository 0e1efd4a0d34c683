import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
const examples = Object.keys(scripts).filter((name) => name.startsWith('example:'));

// Every runnable example (npm run example:<name>) must exit 0: they are the README's promises.
describe('examples', () => {
  it('are wired as npm scripts', () => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
  });

  for (const name of examples) {
    it(`${name} exits 0`, async () => {
      const { stdout } = await run('npm', ['run', '--silent', name], { timeout: 60_000 });
      expect(stdout.length).toBeGreaterThan(0);
    });
  }
});
