import * as hdr from 'hdr-histogram-js';

/** A latency histogram in microseconds (1 µs .. 60 s, 3 significant digits). */
export class Latency {
  readonly #histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

  recordMs(ms: number): void {
    this.#histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.#histogram.totalCount;
  }

  percentileUs(p: number): number {
    return this.#histogram.getValueAtPercentile(p);
  }
}
