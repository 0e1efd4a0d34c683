/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- --profile`): the top
 * functions by self time and by total (inclusive) time, and self time per file.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles-.../W3-durable-kv-measure-....cpuprofile [--top 25] [--whole]
 *
 * When the child recorded timed windows (`<profile>.windows.json`, see lib/windows.ts), each window is
 * summarised on its own, so set-up and prefill do not blur the measured part; --whole adds the lot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sourceLine } from './lib/source-lines.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Summary {
  totalMs: number;
  busyMs: number;
  self: Array<{ name: string; ms: number; percent: number }>;
  total: Array<{ name: string; ms: number; percent: number }>;
  files: Array<{ name: string; ms: number; percent: number }>;
}

/** `window` (µs, the profile's clock) restricts the summary to samples taken inside it. */
export function summarise(profile: Profile, top = 25, window?: { fromUs: number; toUs: number }): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i];
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue;
    // A sample's time is the gap to the next sample (the last one gets the previous gap).
    const duration = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i];
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, duration));
  }
  const label = (frame: CallFrame) => {
    const file = frame.url ? shortUrl(frame.url) : '';
    const line = frame.url.startsWith('file://')
      ? sourceLine(frame.url.slice('file://'.length), frame.lineNumber, frame.columnNumber)
      : undefined;
    return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${line ?? frame.lineNumber + 1}` : ''}`;
  };
  // V8 leaves native code called from JS (e.g. Buffer.byteLength's binding) nameless and URL-less:
  // name it after its caller so it is not one anonymous heap.
  const labelOf = (id: number): string => {
    const frame = byId.get(id)!.callFrame;
    const caller = parent.get(id);
    if (frame.functionName === '' && frame.url === '' && caller !== undefined)
      return `(native) called by ${label(byId.get(caller)!.callFrame)}`;
    return label(frame);
  };
  const selfByName = new Map<string, number>();
  const totalByName = new Map<string, number>();
  const byFile = new Map<string, number>();
  let allUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    allUs += us;
    if (node.callFrame.functionName === '(idle)') idleUs += us;
    selfByName.set(labelOf(id), (selfByName.get(labelOf(id)) ?? 0) + us);
    const file = node.callFrame.url ? shortUrl(node.callFrame.url) : node.callFrame.functionName;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const seen = new Set<string>();
    for (let walk: number | undefined = id; walk !== undefined; walk = parent.get(walk)) {
      const name = labelOf(walk);
      if (seen.has(name)) continue;
      seen.add(name);
      totalByName.set(name, (totalByName.get(name) ?? 0) + us);
    }
  }
  const busyUs = allUs - idleUs;
  const rank = (map: Map<string, number>) =>
    [...map]
      .filter(([name]) => !name.startsWith('(idle)') && !name.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, percent: (us / busyUs) * 100 }));
  return { totalMs: allUs / 1000, busyMs: busyUs / 1000, self: rank(selfByName), total: rank(totalByName), files: rank(byFile) };
}

function shortUrl(url: string): string {
  const clean = url.replace(/^file:\/\//, '');
  const nodeModules = clean.lastIndexOf('node_modules/');
  if (nodeModules >= 0) return clean.slice(nodeModules + 'node_modules/'.length);
  const cwd = process.cwd() + path.sep;
  return clean.startsWith(cwd) ? clean.slice(cwd.length) : clean;
}

export function renderSummary(summary: Summary): string {
  const rows = (list: Summary['self']) =>
    list.map((row) => `${row.percent.toFixed(1).padStart(6)}%  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`);
  return [
    `sampled ${summary.totalMs.toFixed(0)} ms, busy (not idle) ${summary.busyMs.toFixed(0)} ms; percentages are of busy time`,
    '',
    'top self time:',
    ...rows(summary.self),
    '',
    'top total (inclusive) time:',
    ...rows(summary.total),
    '',
    'self time by file:',
    ...rows(summary.files),
  ].join('\n');
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  const files = args.filter((arg, index) => !arg.startsWith('--') && (topIndex < 0 || index !== topIndex + 1));
  if (files.length === 0) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
    const windowsFile = `${file}.windows.json`;
    const windows = fs.existsSync(windowsFile)
      ? (JSON.parse(fs.readFileSync(windowsFile, 'utf8')) as Array<{ name: string; fromUs: number; toUs: number }>)
      : [];
    // The timed windows the child recorded (the measured part), then the whole process for context.
    for (const window of windows) {
      console.log(`== ${path.basename(file)}, timed window '${window.name}' (${((window.toUs - window.fromUs) / 1000).toFixed(0)} ms)`);
      console.log(`${renderSummary(summarise(profile, top, window))}\n`);
    }
    if (windows.length === 0 || args.includes('--whole')) {
      console.log(`== ${path.basename(file)}, whole process\n${renderSummary(summarise(profile, top))}\n`);
    }
  }
}
