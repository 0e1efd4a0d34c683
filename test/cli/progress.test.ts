import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';
import { cliArgs, hasScript, projectRoot, runCli, seedStore } from './run-cli.js';

const barPattern = /verify \[.*\] \d+%/;

describe('progress bars', () => {
  it('stay off stderr when it is a pipe: import, export and verify write nothing there', async () => {
    const dir = await tempDir();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ key: `k${i}`, value: `v${i}` })).join('\n');

    const imported = await runCli(['import', dir], { input: lines });
    const exported = await runCli(['export', dir]);
    const verified = await runCli(['verify', dir]);
    expect([imported.code, exported.code, verified.code]).toEqual([0, 0, 0]);
    expect(exported.stdout.split('\n')).toHaveLength(3001);
    expect([imported.stderr, exported.stderr, verified.stderr]).toEqual(['', '', '']);
  });

  // The other side of the same switch: on a terminal the bar is drawn (util-linux `script` gives the CLI one).
  it.skipIf(!hasScript())('are drawn on stderr when it is a terminal', async () => {
    const dir = await tempDir();
    await seedStore(dir, 3);
    const command = [process.execPath, ...cliArgs, 'verify', dir].join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const [code] = await once(child, 'close');
    expect(code).toBe(0);
    expect(output).toMatch(barPattern);
    expect(output).toContain('all clean');
  });
});
