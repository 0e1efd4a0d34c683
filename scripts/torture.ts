/**
 * kill -9 torture: the kill -9 test's rounds in a loop for N minutes, across all modes.
 *
 *   npm run torture -- --minutes 3 [--seed S] [--from-round R]
 *
 * Each round spawns the crash-writer, SIGKILLs it mid-traffic, reopens the store and checks every
 * acknowledged write (see test/crash/round.ts and test/crash/verify.ts). Rounds share a directory
 * in groups, so later rounds also recover stores that earlier kills left behind. Exits non-zero on
 * any lost write or failed open, printing the seed and round to replay.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { crashModes, isCrashMode, type CrashMode } from '../test/fixtures/crash-workload.js';
import { describePlan, planRound, runRound, type RoundResult } from '../test/crash/round.js';
import type { Trait } from '../test/crash/verify.js';

interface Options {
  minutes: number;
  seed: number;
  fromRound: number;
  roundsPerDir: number;
  mode: CrashMode | undefined;
}

const lossTraits: readonly Trait[] = ['acked', 'deletes', 'batches'];
const openTraits: readonly Trait[] = ['open', 'lock'];
/** Without a terminal, a progress line this often. */
const plainProgressEveryMs = 15_000;

function parseOptions(): Options {
  const number = (name: string, check: (value: number) => boolean) => (text: string) => {
    const value = Number(text);
    if (!check(value))
      throw new InvalidArgumentError(`${name} must be ${check === isPositive ? 'a positive number' : 'a non-negative integer'}`);
    return value;
  };
  const program = new Command('torture')
    .description('kill -9 a writing durable-kv store over and over, and check every acknowledged write after each kill')
    .option('--minutes <n>', 'how long to run', number('minutes', isPositive), 1)
    .option('--seed <n>', 'master seed (default: random); printed, so a run can be replayed', number('seed', isCount))
    .option('--from-round <n>', 'first round number (replay from a failing round)', number('from-round', isCount), 0)
    .option('--rounds-per-dir <n>', 'rounds sharing one store directory', number('rounds-per-dir', isPositive), 8)
    .option('--mode <mode>', `only this mode (${crashModes.join(', ')})`, (text: string) => {
      if (!isCrashMode(text)) throw new InvalidArgumentError(`mode must be one of ${crashModes.join(', ')}`);
      return text;
    })
    .parse();
  const options = program.opts<Partial<Options>>();
  return {
    minutes: options.minutes!,
    seed: options.seed ?? Math.floor(Math.random() * 2 ** 31),
    fromRound: options.fromRound!,
    roundsPerDir: Math.floor(options.roundsPerDir!),
    mode: options.mode,
  };
}

function isPositive(value: number): boolean {
  return Number.isFinite(value) && value > 0;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

class Totals {
  rounds = 0;
  killsSurvived = 0;
  ackedVerified = 0;
  keysChecked = 0;
  killedMidSnapshot = 0;
  snapshotFileOnDisk = 0;
  killedInBatchTraffic = 0;
  /** The torn tails recovery cut, as `file@offset (bytes): reason`. */
  readonly tornTails: string[] = [];
  fallbackKills = 0;
  readonly byMode = new Map<CrashMode, number>();
  readonly failed: RoundResult[] = [];

  add(result: RoundResult): void {
    this.rounds++;
    this.byMode.set(result.plan.mode, (this.byMode.get(result.plan.mode) ?? 0) + 1);
    this.ackedVerified += result.ackedOpsVerified;
    this.keysChecked += result.keysChecked;
    if (result.snapshotInProgress) this.killedMidSnapshot++;
    if (result.snapshotFileInProgress) this.snapshotFileOnDisk++;
    if (result.plan.kill.trigger === 'batch-acks' && result.killedBy === 'plan') this.killedInBatchTraffic++;
    const torn = result.tornTail;
    if (torn !== undefined) this.tornTails.push(`${torn.file}@${torn.offset} (${torn.droppedBytes} bytes dropped): ${torn.reason}`);
    if (result.killedBy === 'fallback') this.fallbackKills++;
    if (result.failures.length > 0) this.failed.push(result);
    else this.killsSurvived++;
  }

  count(traits: readonly Trait[]): number {
    return this.failed.reduce((sum, result) => sum + result.failures.filter((failure) => traits.includes(failure.trait)).length, 0);
  }

  get failures(): number {
    return this.failed.reduce((sum, result) => sum + result.failures.length, 0);
  }
}

interface Progress {
  update(totals: Totals): void;
  stop(totals: Totals): void;
}

function progress(totalSeconds: number, startedAt: number): Progress {
  const payload = (totals: Totals) => ({
    rounds: totals.rounds,
    kills: totals.killsSurvived,
    verified: totals.ackedVerified,
    failures: totals.failures,
  });
  const elapsed = () => Math.min(totalSeconds, Math.round((Date.now() - startedAt) / 1000));
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format:
          'torture {bar} {value}/{total} s | rounds {rounds} | kills survived {kills} | acked writes verified {verified} | failures {failures}',
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalSeconds, 0, payload(new Totals()));
    let last = new Totals();
    const ticker = setInterval(() => bar.update(elapsed(), payload(last)), 1000);
    return {
      update: (totals) => {
        last = totals;
        bar.update(elapsed(), payload(totals));
      },
      stop: (totals) => {
        clearInterval(ticker);
        bar.update(elapsed(), payload(totals));
        bar.stop();
      },
    };
  }
  let lastPrintedAt = Date.now();
  const print = (totals: Totals) => {
    const p = payload(totals);
    console.error(
      `torture ${elapsed()}/${totalSeconds} s: rounds ${p.rounds}, kills survived ${p.kills}, acked writes verified ${p.verified}, failures ${p.failures}`,
    );
  };
  return {
    update: (totals) => {
      if (Date.now() - lastPrintedAt < plainProgressEveryMs) return;
      lastPrintedAt = Date.now();
      print(totals);
    },
    stop: print,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const startedAt = Date.now();
  const deadline = startedAt + options.minutes * 60_000;
  console.error(
    `torture: seed ${options.seed}, ${options.minutes} min, from round ${options.fromRound}${options.mode ? `, mode ${options.mode}` : ''}`,
  );
  const totals = new Totals();
  const bar = progress(Math.round(options.minutes * 60), startedAt);
  const keptDirs: string[] = [];
  let dir: string | undefined;
  let dirFailed = false;
  let model = new Map<string, string>();
  const retire = () => {
    if (dir === undefined) return;
    if (dirFailed) keptDirs.push(dir);
    else fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  };
  for (let round = options.fromRound; Date.now() < deadline; round++) {
    if (dir === undefined || (round - options.fromRound) % options.roundsPerDir === 0) {
      retire();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-torture-'));
      dirFailed = false;
      model = new Map();
    }
    const plan = planRound(options.seed, round, { mode: options.mode });
    const result = await runRound(dir, plan, model);
    totals.add(result);
    model = result.model;
    if (result.failures.length > 0) {
      dirFailed = true;
      bar.update(totals);
      reportFailure(options.seed, result, dir);
    }
    if (result.fatal) retire();
    bar.update(totals);
  }
  retire();
  bar.stop(totals);
  printSummary(options, totals, keptDirs);
  process.exitCode = totals.failures > 0 ? 1 : 0;
}

function reportFailure(seed: number, result: RoundResult, dir: string): void {
  console.error(`\nFAILED ${describePlan(result.plan)} (store kept at ${dir})`);
  for (const failure of result.failures.slice(0, 10)) console.error(`  [${failure.trait}] ${failure.message}`);
  if (result.failures.length > 10) console.error(`  ... and ${result.failures.length - 10} more`);
  console.error(`  replay: npm run torture -- --seed ${seed} --from-round ${result.plan.round} --mode ${result.plan.mode}`);
}

function printSummary(options: Options, totals: Totals, keptDirs: string[]): void {
  const modes = [...totals.byMode].map(([mode, count]) => `${mode} ${count}`).join(', ');
  const lines = [
    `torture summary (seed ${options.seed}, ${options.minutes} min)`,
    `  rounds:                        ${totals.rounds} (${modes})`,
    `  kills survived:                ${totals.killsSurvived} of ${totals.rounds}`,
    `    with a manual snapshot in progress: ${totals.killedMidSnapshot}; with a snapshot file being written: ${totals.snapshotFileOnDisk}`,
    `    during heavy batch traffic: ${totals.killedInBatchTraffic}; torn tails cut at open: ${totals.tornTails.length}; killed by the fallback timer: ${totals.fallbackKills}`,
    `  acknowledged writes verified:  ${totals.ackedVerified} (keys checked: ${totals.keysChecked})`,
    `  lost:                          ${totals.count(lossTraits)}`,
    `  open failures:                 ${totals.count(openTraits)}`,
    `  other failures:                ${totals.failures - totals.count(lossTraits) - totals.count(openTraits)}`,
  ];
  for (const torn of totals.tornTails.slice(0, 10)) lines.push(`    torn tail: ${torn}`);
  for (const result of totals.failed)
    lines.push(
      `  failed ${describePlan(result.plan)}: replay with --seed ${options.seed} --from-round ${result.plan.round} --mode ${result.plan.mode}`,
    );
  for (const dir of keptDirs) lines.push(`  kept for inspection: ${dir}`);
  console.log(lines.join('\n'));
}

await main();
