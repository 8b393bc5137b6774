/** Reading the comparison answer of `POST /api/runs/compare`: tables of values per run (a value
 * may be an estimate with its confidence interval) and curves per run. */
import type { Point } from "../charts/batcher";

export type Matrix = Record<string, Record<string, unknown>>;

/** `{value, low, high}` as `0.812 [0.751, 0.866]`; other values as text. */
export function estimate(value: unknown): string {
  if (value && typeof value === "object" && "value" in value) {
    const v = value as { value: number; low?: number; high?: number };
    const f = (x: number | undefined) => (typeof x === "number" ? x.toFixed(3) : "—");
    return v.low === undefined ? f(v.value) : `${f(v.value)} [${f(v.low)}, ${f(v.high)}]`;
  }
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  return value === undefined || value === null ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The column names (runs) of a matrix, in first-seen order. */
export function columnsOf(matrix: Matrix): string[] {
  const seen: string[] = [];
  for (const row of Object.values(matrix)) for (const key of Object.keys(row)) if (!seen.includes(key)) seen.push(key);
  return seen;
}

/** A list of `{x, y}` / `[x, y]` points, or parallel `{x: [], y: []}` arrays, as points. */
export function curvePoints(curve: unknown): Point[] {
  if (Array.isArray(curve))
    return curve.flatMap((p): Point[] => (Array.isArray(p) && p.length >= 2 ? [[Number(p[0]), Number(p[1])]] : p && typeof p === "object" && "x" in p && "y" in p ? [[Number((p as { x: number }).x), Number((p as { y: number }).y)]] : []));
  if (curve && typeof curve === "object") {
    const c = curve as Record<string, unknown>;
    const xs = c.x ?? c.fpr ?? c.predicted ?? c.mean_predicted ?? c.thresholds;
    const ys = c.y ?? c.tpr ?? c.observed ?? c.fraction_positive ?? c.net_benefit ?? c.model;
    if (Array.isArray(xs) && Array.isArray(ys)) return xs.map((x, i): Point => [Number(x), Number(ys[i])]);
  }
  return [];
}

const CURVES: Record<string, string[]> = {
  ROC: ["roc"],
  Calibration: ["calibration", "reliability"],
  "Decision curve": ["decision_curve", "decision"],
};

/** A report's curves (`roc`, `calibration`/`reliability`, `decision_curve`), at its top level or
 * under `curves`, by display name. */
export function reportCurves(report: Record<string, unknown> | null): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const places = [report ?? {}, ((report ?? {}).curves as Record<string, unknown> | undefined) ?? {}];
  for (const [label, keys] of Object.entries(CURVES))
    for (const place of places) for (const key of keys) if (place[key] !== undefined && found[label] === undefined) found[label] = place[key];
  return found;
}

/** Values per run (`{key: [v_run1, v_run2]}`) as a matrix keyed by run label. */
export function byRun(values: Record<string, unknown[]>, labels: string[]): Matrix {
  return Object.fromEntries(Object.entries(values).map(([key, list]) => [key, Object.fromEntries(labels.map((label, i) => [label, list[i]]))]));
}

/** One record per run (`[{key: v}, ...]`) as a matrix keyed by run label. */
export function fromRecords(records: (Record<string, unknown> | null)[], labels: string[]): Matrix {
  const matrix: Matrix = {};
  records.forEach((record, i) => {
    for (const [key, value] of Object.entries(record ?? {})) (matrix[key] ??= {})[labels[i] ?? String(i)] = value;
  });
  return matrix;
}

/** `{run: {curveName: curve}}` regrouped as `{curveName: [{name: run, data}]}`. */
export function curvesByName(curves: Record<string, Record<string, unknown>>): Record<string, { name: string; data: Point[] }[]> {
  const out: Record<string, { name: string; data: Point[] }[]> = {};
  for (const [run, byName] of Object.entries(curves))
    for (const [name, curve] of Object.entries(byName ?? {})) (out[name] ??= []).push({ name: run, data: curvePoints(curve) });
  return out;
}
