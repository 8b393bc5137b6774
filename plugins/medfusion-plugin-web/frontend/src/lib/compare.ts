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
    const [xs, ys] = [c.x ?? c.fpr ?? c.predicted ?? c.threshold, c.y ?? c.tpr ?? c.observed ?? c.net_benefit];
    if (Array.isArray(xs) && Array.isArray(ys)) return xs.map((x, i): Point => [Number(x), Number(ys[i])]);
  }
  return [];
}

/** `{run: {curveName: curve}}` regrouped as `{curveName: [{name: run, data}]}`. */
export function curvesByName(curves: Record<string, Record<string, unknown>>): Record<string, { name: string; data: Point[] }[]> {
  const out: Record<string, { name: string; data: Point[] }[]> = {};
  for (const [run, byName] of Object.entries(curves))
    for (const [name, curve] of Object.entries(byName ?? {})) (out[name] ??= []).push({ name: run, data: curvePoints(curve) });
  return out;
}
