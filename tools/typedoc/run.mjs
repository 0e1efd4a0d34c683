// `npm run docs` runs TypeDoc through this file so that TypeDoc is resolved from this folder, where npm installs it
// next to typescript@6 (TypeDoc 0.28 needs TypeScript <= 6.0; the project itself builds with typescript@7).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const typedocBin = path.join(path.dirname(require.resolve('typedoc/package.json')), 'bin', 'typedoc');
spawn(process.execPath, [typedocBin, ...process.argv.slice(2)], { stdio: 'inherit' }).on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
