/** Comparison of two or more runs (URL `?runs=a,b`): parameters that differ, metrics with their
 * confidence intervals, ROC / calibration / decision curves overlaid, DeLong and McNemar. */
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import { LineChart } from "../charts/Chart";
import { columnsOf, curvesByName, estimate, type Matrix } from "../lib/compare";
import { Card, ErrorLine, Page } from "../ui";

interface Comparison {
  params?: Matrix;
  params_differ?: Matrix;
  metrics?: Matrix;
  curves?: Record<string, Record<string, unknown>>;
  tests?: Record<string, unknown>[];
  paired?: Record<string, unknown>[];
  skipped?: string[];
}

function MatrixTable({ matrix, label }: { matrix: Matrix; label: string }) {
  const columns = columnsOf(matrix);
  return (
    <table className="mf-table" aria-label={label}>
      <thead>
        <tr>
          <th />
          {columns.map((c) => (
            <th key={c}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Object.entries(matrix).map(([key, row]) => (
          <tr key={key}>
            <td>{key}</td>
            {columns.map((c) => (
              <td key={c}>{estimate(row[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function flat(value: unknown, prefix = ""): [string, unknown][] {
  if (value && typeof value === "object" && !Array.isArray(value) && !("value" in value && "low" in value))
    return Object.entries(value).flatMap(([k, v]) => flat(v, prefix ? `${prefix}.${k}` : k));
  return [[prefix, value]];
}

export default function ComparePage() {
  const [params] = useSearchParams();
  const runs = (params.get("runs") ?? "").split(",").filter(Boolean);
  const key = runs.join(",");
  const [result, setResult] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (key.split(",").length < 2) return;
    api.post<Comparison>("/api/runs/compare", { runs: key.split(",") }).then(setResult, (err: Error) => setError(err.message));
  }, [key]);
  const tests = result?.tests ?? result?.paired ?? [];
  const curves = curvesByName(result?.curves ?? {});
  return (
    <Page title={`Compare ${runs.length} runs`} actions={<Link to={`/runs?selected=${key}`}>back to runs</Link>}>
      {runs.length < 2 && <p>Pick two or more runs in the runs table.</p>}
      <ErrorLine error={error} />
      {result && (
        <>
          <Card title="Parameters that differ">
            <MatrixTable matrix={result.params_differ ?? result.params ?? {}} label="parameters" />
          </Card>
          <Card title="Metrics (95% CI)">
            <MatrixTable matrix={result.metrics ?? {}} label="metrics" />
          </Card>
          <Card title="DeLong and McNemar">
            {tests.map((test, i) => (
              <table key={i} className="mf-table" data-testid="paired-test">
                <tbody>
                  {flat(test).map(([k, v]) => (
                    <tr key={k}>
                      <td>{k}</td>
                      <td>{estimate(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ))}
            {(result.skipped ?? []).map((s) => (
              <p key={s} className="mf-muted">
                {s}
              </p>
            ))}
          </Card>
          <div className="mf-grid">
            {Object.entries(curves).map(([name, series]) => (
              <Card key={name} title={name}>
                <LineChart label={`${name} curves`} series={series} />
              </Card>
            ))}
          </div>
        </>
      )}
    </Page>
  );
}
