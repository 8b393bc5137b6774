/** Metric points arrive one by one on a WebSocket; the chart takes them in batches, at most one
 * flush per animation frame, so that a fast stream never re-renders per point. */

export type Point = [number, number];

type Schedule = (callback: () => void) => number;

/** Collects points per series and hands them to `flush` once per frame. */
export class PointBatcher {
  private pending = new Map<string, Point[]>();
  private scheduled = false;
  flushes = 0;

  constructor(
    private readonly flush: (batch: Map<string, Point[]>) => void,
    private readonly schedule: Schedule = (cb) => requestAnimationFrame(cb),
  ) {}

  /** Queue one point of `series`; schedules a flush on the next frame when none is pending. */
  push(series: string, point: Point): void {
    const list = this.pending.get(series);
    if (list) list.push(point);
    else this.pending.set(series, [point]);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.run());
    }
  }

  private run(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    if (batch.size) {
      this.flushes += 1;
      this.flush(batch);
    }
  }
}
