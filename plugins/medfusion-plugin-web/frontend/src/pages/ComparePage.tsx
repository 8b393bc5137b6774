/** Comparison of two or more runs (URL `?runs=a,b`): parameters that differ, metrics with their
 * confidence intervals, ROC / calibration / decision curves overlaid, DeLong and McNemar. */
import { useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api } from "../api/client";
import type { CompareBody, Comparison } from "../api/types";
import { LineChart } from "../charts/Chart";
import { byRun, columnsOf, curvesByName, estimate, fromRecords, reportCurves, type Matrix } from "../lib/compare";
import { Card, ErrorLine, Page } from "../ui";

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
    api.post<Comparison>("/api/runs/compare", { runs: key.split(",") } satisfies CompareBody).then(setResult, (err: Error) => setError(err.message));
  }, [key]);
  const labels = (result?.runs ?? []).map((r) => (r.model ? `${r.name} (${r.model})` : r.name));
  const tests = result?.paired_tests ?? [];
  const curves = curvesByName(Object.fromEntries(labels.map((label, i) => [label, reportCurves(result?.reports[i] ?? null)])));
  return (
    <Page title={`Compare ${runs.length} runs`} actions={<Link to={`/runs?selected=${key}`}>back to runs</Link>}>
      {runs.length < 2 && <p>Pick two or more runs in the runs table.</p>}
      <ErrorLine error={error} />
      {result && (
        <>
          <Card title="Parameters that differ">
            <MatrixTable matrix={byRun(result.params_that_differ, labels)} label="parameters" />
          </Card>
          <Card title="Test metrics (95% CI)">
            <MatrixTable matrix={fromRecords(result.test_metrics, labels)} label="test metrics" />
          </Card>
          <Card title="Logged metrics (latest)">
            <MatrixTable matrix={byRun(result.metrics, labels)} label="metrics" />
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
            {result.not_tested.map((s) => (
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
