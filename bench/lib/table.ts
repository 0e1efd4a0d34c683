import type { MetricSpec, Metrics, Workload } from '../workloads/workload.js';
import { peerNames, type StoreName } from '../stores/store.js';

export type StoreResults = Partial<Record<StoreName, Metrics | { error: string }>>;
export type Medians = Record<string, StoreResults>;

export function metricsOf(results: StoreResults, store: StoreName): Metrics | undefined {
  const entry = results[store];
  return entry === undefined || 'error' in entry ? undefined : (entry as Metrics);
}

/** The best peer's figure for a metric (highest or lowest, as the metric says), with its name. */
export function bestPeer(results: StoreResults, spec: MetricSpec): { store: StoreName; value: number } | undefined {
  let best: { store: StoreName; value: number } | undefined;
  for (const store of peerNames) {
    const value = metricsOf(results, store)?.[spec.key];
    if (value === undefined || !Number.isFinite(value)) continue;
    const better = best === undefined || (spec.better === 'lower' ? value < best.value : value > best.value);
    if (better) best = { store, value };
  }
  return best;
}

export function formatValue(value: number, unit: MetricSpec['unit']): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'ops/s':
    case 'entries/s':
      return value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)}k` : value.toFixed(0);
    case '×':
      return value.toFixed(2);
    case 'MB':
    case 'MB/s':
      return value.toFixed(value >= 100 ? 0 : 1);
    default:
      return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 10 ? 1 : 2);
  }
}

function ratio(value: number, reference: number | undefined): string {
  if (reference === undefined || reference === 0 || !Number.isFinite(reference)) return '  -  ';
  const r = value / reference;
  return r >= 100 ? `${r.toFixed(0)}` : r.toFixed(2);
}

/**
 * One table: a row per workload metric, a column per store. A cell is the store's median figure,
 * then its ratio to the best peer's figure (p) and to the raw baseline's (r), both value ÷ reference.
 */
export function renderTable(workloads: readonly Workload[], medians: Medians, stores: readonly StoreName[]): string {
  const header = ['workload / metric', ...stores];
  const rows: string[][] = [];
  for (const workload of workloads) {
    const results = medians[workload.id];
    if (results === undefined) continue;
    for (const spec of workload.metrics) {
      const arrow = spec.better === 'higher' ? '↑' : spec.better === 'lower' ? '↓' : ' ';
      const label = `${workload.id} ${spec.label} (${spec.unit}) ${arrow}`;
      const peer = bestPeer(results, spec);
      const raw = metricsOf(results, 'raw')?.[spec.key];
      const cells = stores.map((store) => {
        const entry = results[store];
        if (entry === undefined || !workload.stores.includes(store)) return 'n/a';
        if ('error' in entry) return 'error';
        const value = (entry as Metrics)[spec.key];
        if (value === undefined) return 'n/a';
        return `${formatValue(value, spec.unit)} p${ratio(value, peer?.value)} r${ratio(value, raw)}`;
      });
      rows.push([label, ...cells]);
    }
  }
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => [...row[column]].length)));
  const line = (row: string[]) =>
    row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join(' | ');
  const rule = widths.map((width) => '-'.repeat(width)).join('-+-');
  return [line(header), rule, ...rows.map(line)].join('\n');
}
