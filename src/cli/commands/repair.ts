import type { Command } from 'commander';
import { handled } from '../action.js';
import { contextOf, formatBytes, report, type CliContext } from '../context.js';
import { CliError, exitCodes } from '../exit-codes.js';
import { ReadCountingFileSystem, requireStore } from '../open-store.js';
import { startProgress, type Progress } from '../progress.js';
import { isCuttable, planRepair, totalBytes } from '../inspect.js';
import { DurableKVStore } from '../../store.js';
import { NodeFileSystem } from '../../fs/node-file-system.js';
import { classifyDirectory } from '../../format/file-names.js';
import { StoreCorruptError } from '../../errors.js';
import type { DamageReport } from '../../recovery/report.js';
import type { RepairReport } from '../../repair.js';
import { describeLostEntries } from '../../format/snapshot-salvage.js';
import { damagedSuffix } from '../../recovery/apply.js';

export function registerRepair(program: Command): void {
  program
    .command('repair')
    .description('cut the WAL at the first corruption so the store opens again; without --yes, only say what it would cut')
    .argument('<dir>', 'store directory')
    .option('--yes', 'really cut (what is cut may include acknowledged writes)')
    .action(
      handled(async (dir: string, options: { yes?: boolean }, command: Command) => {
        const context = contextOf(command);
        const names = await requireStore(dir);
        const listing = classifyDirectory(names);
        const files = [
          ...listing.segments.map((segment) => segment.name),
          ...listing.snapshots.slice(0, 1).map((snapshot) => snapshot.name),
        ];
        const progress = startProgress(context, {
          label: options.yes ? 'repair' : 'inspect',
          total: context.showProgress ? await totalBytes(dir, files) : 0,
          unit: 'bytes',
        });
        try {
          if (options.yes === true) return await repair(dir, context, progress);
          return await dryRun(dir, context, progress);
        } catch (error) {
          if (error instanceof StoreCorruptError && !isCuttable(error)) throw notRepairable(dir, error);
          throw error;
        } finally {
          progress.stop();
        }
      }),
    );
}

async function dryRun(dir: string, context: CliContext, progress: Progress): Promise<number> {
  const plan = await planRepair(dir, countingFileSystem(progress));
  progress.stop();
  const json = { dryRun: true, ...plan };
  if (plan.cut !== undefined) {
    const { cut } = plan;
    const later =
      cut.segmentsDeleted.length > 0
        ? `, and delete the ${cut.segmentsDeleted.length} later segment(s) ${cut.segmentsDeleted.join(', ')}`
        : '';
    const salvage =
      plan.salvage === undefined
        ? ''
        : `It would also rewrite the damaged snapshot ${plan.salvage.damage.file} with the ${plan.salvage.entriesKept} entries ` +
          `of its intact blocks; ${describeLostEntries(plan.salvage.lost)}.\n`;
    const human =
      `repair would cut ${cut.file} from byte ${cut.offset} to its end${later}: ${formatBytes(cut.droppedBytes)} in all.\n` +
      `The damage: ${cut.reason}.\n${salvage}` +
      'What is cut may include acknowledged writes. Nothing was changed; re-run with --yes to repair:\n' +
      `  durable-kv repair ${dir} --yes`;
    await report(context, json, human);
    return exitCodes.corrupt;
  }
  if (plan.restore !== undefined) {
    const { damage, snapshotsDeleted, restoredFrom } = plan.restore;
    const human =
      `repair would delete the damaged snapshot(s) ${snapshotsDeleted.join(', ')} and restore every write from ${restoredFrom} ` +
      `and the WAL after it: nothing is lost.\nThe damage: ${damage.file} at byte ${damage.offset}: ${damage.reason}.\n` +
      `Nothing was changed; re-run with --yes to repair:\n  durable-kv repair ${dir} --yes`;
    await report(context, json, human);
    return exitCodes.corrupt;
  }
  if (plan.salvage !== undefined) {
    const { damage, entriesKept, lost } = plan.salvage;
    const human =
      `no older snapshot generation restores the damaged snapshot ${damage.file}: repair would rewrite it with the ` +
      `${entriesKept} entries of its intact blocks and replay the WAL after it; ${describeLostEntries(lost)}.\n` +
      `The damaged file would be kept as ${damage.file}${damagedSuffix}. The damage: at byte ${damage.offset}: ${damage.reason}.\n` +
      `Nothing was changed; re-run with --yes to repair:\n  durable-kv repair ${dir} --yes`;
    await report(context, json, human);
    return exitCodes.corrupt;
  }
  if (plan.tornTail !== undefined) {
    const human =
      `repair would only cut a torn tail: ${describeDamage(plan.tornTail)}. It was never acknowledged, and any open cuts it too.\n` +
      `Nothing was changed; re-run with --yes to cut it now:\n  durable-kv repair ${dir} --yes`;
    await report(context, json, human);
    return exitCodes.failure;
  }
  await report(context, json, `nothing to repair: the log is intact (last seq ${plan.lastSeq})`);
  return exitCodes.ok;
}

async function repair(dir: string, context: CliContext, progress: Progress): Promise<number> {
  const result: RepairReport = await DurableKVStore.repair(dir, { fs: countingFileSystem(progress) });
  progress.stop();
  const lines: string[] = [];
  const { repaired } = result;
  if (repaired?.restoredFrom !== undefined) {
    const snapshots = (repaired.snapshotsDeleted ?? []).join(', ');
    lines.push(`repaired: deleted the damaged snapshot(s) ${snapshots}; every write restored from ${repaired.restoredFrom} and the WAL`);
  } else if (repaired !== undefined) {
    const { salvaged } = repaired;
    const cutWal = salvaged === undefined || repaired.droppedBytes > 0 || repaired.segmentsDeleted.length > 0;
    const deleted = repaired.segmentsDeleted;
    if (cutWal) lines.push(`repaired: cut ${describeDamage(repaired)}${deleted.length > 0 ? `; deleted ${deleted.join(', ')}` : ''}`);
    if (salvaged !== undefined) {
      const snapshot = salvaged.damagedCopy.replace(/\.damaged$/, '');
      lines.push(
        `repaired: rewrote the damaged snapshot ${snapshot} with the ${salvaged.entriesKept} entries of its intact blocks; ` +
          `${describeLostEntries(salvaged.lost)}. The damaged file is kept as ${salvaged.damagedCopy}`,
      );
    }
  }
  if (result.tornTail !== undefined) lines.push(`cut a torn tail: ${describeDamage(result.tornTail)}`);
  if (lines.length === 0) lines.push('nothing to repair: the log is intact');
  lines.push(`the log now ends at seq ${result.lastSeq}`);
  await report(context, { dryRun: false, ...result }, lines.join('\n'));
  return exitCodes.ok;
}

function describeDamage(damage: DamageReport): string {
  return `${formatBytes(damage.droppedBytes)} from byte ${damage.offset} of ${damage.file} (${damage.reason})`;
}

function countingFileSystem(progress: Progress): ReadCountingFileSystem {
  return new ReadCountingFileSystem(new NodeFileSystem(), (bytes) => progress.increment(bytes));
}

function notRepairable(dir: string, error: StoreCorruptError): CliError {
  const message = `repair cannot fix this: corrupt data in ${error.file} at byte ${error.offset}: ${error.reason} (ERR_STORE_CORRUPT)`;
  const hint =
    "repair cuts damage inside the WAL's records, and restores or salvages a damaged newest snapshot; damage in a " +
    `segment header, or a gap in the log, needs a backup. \`durable-kv verify ${dir}\` lists every damaged file.`;
  return new CliError(message, exitCodes.corrupt, 'ERR_STORE_CORRUPT', hint);
}
