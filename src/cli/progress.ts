import cliProgress from 'cli-progress';
import { formatBytes, type CliContext } from './context.js';

/** A progress bar for long work, or nothing: it draws only on a terminal (never into a pipe or file). */
export interface Progress {
  increment(amount: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  stop(): void;
}

const silent: Progress = { increment() {}, update() {}, setTotal() {}, stop() {} };

export interface ProgressOptions {
  label: string;
  /** Total work; undefined when it is not known up front (a count is shown instead of a bar). */
  total: number | undefined;
  unit: 'bytes' | 'records';
}

export function startProgress(context: CliContext, options: ProgressOptions): Progress {
  // No terminal, or nothing to do (an empty store recovers at once): no bar.
  if (!context.showProgress || options.total === 0) return silent;
  const { label, total, unit } = options;
  const format =
    total === undefined
      ? `${label} {value} ${unit === 'bytes' ? '' : 'records'}`
      : `${label} [{bar}] {percentage}% | {value} of {total}${unit === 'bytes' ? '' : ' records'} | ETA {eta_formatted}`;
  const bar = new cliProgress.SingleBar(
    {
      format,
      stream: process.stderr,
      // The bar is about work in progress; once done it goes, leaving the command's own output.
      clearOnComplete: true,
      hideCursor: true,
      formatValue: (value, _options, type) =>
        unit === 'bytes' && (type === 'value' || type === 'total') ? formatBytes(value) : String(value),
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  let stopped = false;
  return {
    increment: (amount) => stopped || bar.increment(amount),
    update: (value) => stopped || bar.update(value),
    setTotal: (newTotal) => stopped || bar.setTotal(newTotal),
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
