/** Metric points as the metric stream sends them: one point, a list, or `{points: [...]}`. */

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
  time?: number;
}

function isPoint(value: unknown): value is MetricPoint {
  const p = value as MetricPoint;
  return !!p && typeof p.key === "string" && typeof p.value === "number" && typeof p.step === "number";
}

/** The points inside one stream message's data. */
export function pointsOf(data: unknown): MetricPoint[] {
  if (Array.isArray(data)) return data.filter(isPoint);
  if (isPoint(data)) return [data];
  if (data && typeof data === "object" && Array.isArray((data as { points?: unknown }).points)) return pointsOf((data as { points: unknown[] }).points);
  return [];
}

export interface Progress {
  epoch: number | null;
  epochs: number | null;
  lr: number | null;
  etaSeconds: number | null;
}

/** The last path part of a metric key (`fused/lr` -> `lr`). */
export function baseKey(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** Whether a key is progress (epoch, learning rate) rather than a curve to draw. */
export function isProgressKey(key: string): boolean {
  return ["epoch", "lr", "learning_rate"].includes(baseKey(key));
}

function newest(latest: Map<string, MetricPoint>, names: string[]): MetricPoint | undefined {
  let found: MetricPoint | undefined;
  for (const point of latest.values())
    if (names.includes(baseKey(point.key)) && (!found || (point.time ?? point.step) >= (found.time ?? found.step))) found = point;
  return found;
}

/** Epoch, learning rate and remaining time from the latest points (keys `epoch`, `lr`, also
 * prefixed like `fused/lr`) and the planned epoch count; the ETA extrapolates the mean time per
 * finished epoch. */
export function progressOf(latest: Map<string, MetricPoint>, epochs: number | null, startedAt: number | null, now: number): Progress {
  const epochPoint = newest(latest, ["epoch"]);
  const lrPoint = newest(latest, ["lr", "learning_rate"]);
  const epoch = epochPoint ? epochPoint.value : null;
  let eta: number | null = null;
  if (epoch !== null && epochs !== null && startedAt !== null && epoch > 0) {
    const perEpoch = (now - startedAt) / epoch;
    eta = Math.max(0, (epochs - epoch) * perEpoch);
  }
  return { epoch, epochs, lr: lrPoint ? lrPoint.value : null, etaSeconds: eta };
}
