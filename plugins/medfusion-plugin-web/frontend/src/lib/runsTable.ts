/** The runs table's columns and client-side ordering (the server filters; clicking a header sorts
 * by that column and writes it into the URL so the view can be shared). */
import type { Run } from "../api/types";

/** The metric keys any of `runs` has, sorted. */
export function metricKeys(runs: Run[]): string[] {
  return [...new Set(runs.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
}

/** The value of column `column` (`name`, `status`, `start_time`, `metrics.<key>`) of `run`. */
export function cell(run: Run, column: string): string | number | null {
  if (column.startsWith("metrics.")) return run.metrics?.[column.slice(8)] ?? null;
  const value = (run as unknown as Record<string, unknown>)[column];
  return typeof value === "number" || typeof value === "string" ? value : null;
}

/** `sort` (`column [asc|desc]`) parsed. */
export function parseSort(sort: string | null): { column: string; desc: boolean } | null {
  if (!sort) return null;
  const [column = "", dir = "asc"] = sort.trim().split(/\s+/);
  return column ? { column, desc: dir.toLowerCase() === "desc" } : null;
}

/** The next `sort` after a click on `column`: ascending, then descending. */
export function nextSort(current: string | null, column: string): string {
  const parsed = parseSort(current);
  return parsed?.column === column && !parsed.desc ? `${column} desc` : `${column} asc`;
}

/** `runs` ordered by `sort` (missing values last). */
export function sortRuns(runs: Run[], sort: string | null): Run[] {
  const parsed = parseSort(sort);
  if (!parsed) return runs;
  const sign = parsed.desc ? -1 : 1;
  return [...runs].sort((a, b) => {
    const x = cell(a, parsed.column);
    const y = cell(b, parsed.column);
    if (x === null) return y === null ? 0 : 1;
    if (y === null) return -1;
    return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sign;
  });
}
