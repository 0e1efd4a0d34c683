import path from 'node:path';
import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, formatBytes, report } from '../context.js';
import { exitCodes } from '../exit-codes.js';
import { requireStore } from '../open-store.js';
import { startProgress } from '../progress.js';
import { filesToVerify, totalBytes, verifyFiles, type FileCheck } from '../inspect.js';
import { classifyDirectory } from '../../format/file-names.js';
import { describeLostEntries } from '../../format/snapshot-salvage.js';
import { isCuttableAt } from '../../recovery/plan.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check every checksum in every snapshot and WAL segment; reads only and takes no lock, so it can check a live store')
    .argument('<dir>', 'store directory')
    .action(
      handled(async (dir: string, _options: unknown, command: Command) => {
        const context = contextOf(command);
        const names = await requireStore(dir);
        const files = filesToVerify(classifyDirectory(names)).map((file) => file.name);
        const progress = startProgress(context, {
          label: 'verify',
          total: context.showProgress ? await totalBytes(dir, files) : 0,
          unit: 'bytes',
        });
        let checks: FileCheck[];
        try {
          checks = await verifyFiles(dir, names, (bytes) => progress.increment(bytes));
        } finally {
          progress.stop();
        }
        const corrupt = checks.filter((check) => check.status === 'corrupt').length;
        const tornTail = checks.find((check) => check.status === 'torn-tail');
        const json = { dir: path.resolve(dir), ok: corrupt === 0, corrupt, tornTail: tornTail !== undefined, files: checks };
        await report(context, json, [...checks.map(describeCheck), summary(dir, checks, corrupt, tornTail)].join('\n'));
        return corrupt > 0 ? exitCodes.corrupt : exitCodes.ok;
      }),
    );
}

function describeCheck(check: FileCheck): string {
  const file = check.file.padEnd(30);
  switch (check.status) {
    case 'ok':
      return check.kind === 'snapshot'
        ? `OK       ${file}  ${plural(check.entries ?? 0, 'entry', 'entries')} at seq ${check.seq}, ${formatBytes(check.bytes)}`
        : `OK       ${file}  ${check.records === 0 ? 'no records' : `${plural(check.records ?? 0, 'record')}, seq ${check.firstSeq}..${check.lastSeq}`}, ${formatBytes(check.bytes)}`;
    case 'torn-tail':
      return `TORN     ${file}  torn tail at byte ${check.offset}: ${check.droppedBytes} bytes (${check.reason}); never acknowledged, the next open cuts it`;
    case 'corrupt': {
      const salvage =
        check.salvage === undefined
          ? ''
          : `; without an older generation, a salvage keeps ${plural(check.salvage.entriesKept, 'entry', 'entries')}: ${describeLostEntries(check.salvage.lost)}`;
      return `CORRUPT  ${file}  at byte ${check.offset}: ${check.reason}${salvage}`;
    }
    case 'vanished':
      return `GONE     ${file}  deleted while verifying (compacted by the store that has it open)`;
  }
}

function summary(dir: string, checks: FileCheck[], corrupt: number, tornTail: FileCheck | undefined): string {
  const counted = `${plural(checks.length, 'file')} checked`;
  if (corrupt > 0) {
    const cuttable = checks.some((check) => check.status === 'corrupt' && isCuttableAt(check.file, check.offset ?? 0));
    const next = cuttable
      ? `Run \`durable-kv repair ${dir}\` to see what a repair would cut.`
      : `Run \`durable-kv repair ${dir}\` to see what a repair would do: it restores a damaged snapshot from an older ` +
        'generation when one is kept, else keeps every intact block of it; damage in a segment header needs a backup.';
    return `${counted}: ${corrupt} CORRUPT. ${next}`;
  }
  if (tornTail !== undefined) return `${counted}: clean but for a torn tail (a write that was never acknowledged).`;
  return `${counted}: all clean.`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
