import fs from 'node:fs';
import { transformSync } from 'esbuild';

/**
 * tsx compiles TypeScript with esbuild's minifyWhitespace, so every function of a .ts file sits on
 * line 1 of what V8 runs and a .cpuprofile gives only columns. This redoes the same transform (the
 * options tsx uses) and maps a generated column back to the source line through the source map.
 * If the file changed since the profile was taken, the lines may be off: a best effort.
 */
const cache = new Map<string, Array<[number, number]> | undefined>();

export function sourceLine(filePath: string, generatedLine: number, generatedColumn: number): number | undefined {
  if (generatedLine !== 0 || !filePath.endsWith('.ts')) return undefined;
  if (!cache.has(filePath)) cache.set(filePath, mappingsOf(filePath));
  const mappings = cache.get(filePath);
  if (mappings === undefined) return undefined;
  let low = 0;
  let high = mappings.length - 1;
  let found: number | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (mappings[middle][0] <= generatedColumn) {
      found = mappings[middle][1];
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found === undefined ? undefined : found + 1;
}

/** [generated column, source line] pairs of generated line 0, in column order. */
function mappingsOf(filePath: string): Array<[number, number]> | undefined {
  try {
    const result = transformSync(fs.readFileSync(filePath, 'utf8'), {
      target: `node${process.versions.node}`,
      loader: 'ts',
      format: 'esm',
      sourcemap: 'external',
      minifyWhitespace: true,
      keepNames: true,
      sourcefile: filePath,
    });
    const map = JSON.parse(result.map) as { mappings: string };
    const firstLine = map.mappings.split(';')[0];
    const pairs: Array<[number, number]> = [];
    let column = 0;
    let sourceLineAt = 0;
    for (const segment of firstLine.split(',')) {
      if (segment === '') continue;
      const fields = decodeVlq(segment);
      column += fields[0];
      if (fields.length >= 3) {
        sourceLineAt += fields[2];
        pairs.push([column, sourceLineAt]);
      }
    }
    return pairs;
  } catch {
    return undefined;
  }
}

const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = base64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >> 1) : value >> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}
