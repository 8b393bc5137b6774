/** Training monitor, the run's page: loss and metrics live over the run's metric WebSocket, drawn
 * in batches (one chart update per animation frame), with epoch, ETA and learning rate, and the
 * run's evaluation report as HTML and PDF. */
import { useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { openStream } from "../api/ws";
import type { Run, RunDetail } from "../api/types";
import { PointBatcher } from "../charts/batcher";
import { LiveChart, type LiveChartHandle } from "../charts/Chart";
import { isProgressKey, pointsOf, progressOf, type MetricPoint } from "../charts/points";
import { duration, num, when } from "../lib/format";
import { useApi } from "../lib/useApi";
import { Badge, Card, ErrorLine, Field, Page, Select } from "../ui";

/** Test-set figures are single points logged by `evaluate`, not training curves. */
const isCurve = (key: string) => !isProgressKey(key) && !key.includes("test_");

function epochsOf(run: Run | null): number | null {
  const params = run?.params ?? {};
  for (const key of ["trainer.params.epochs", "training.epochs", "trainer.epochs", "epochs"]) {
    const value = Number(params[key]);
    if (Number.isFinite(value) && value > 0) return value;
  }
  return null;
}

function startOf(run: Run | null): number | null {
  return run ? run.start_time * 1000 : null;
}

/** Links to the run's report in each format it was written in. */
export function ReportLinks({ run }: { run: RunDetail }) {
  const base = `/api/runs/${encodeURIComponent(run.id)}/report`;
  if (!run.reports.html && !run.reports.pdf) return <p className="mf-muted">no report yet: run `medfusion evaluate` on it</p>;
  return (
    <p data-testid="report-links">
      {run.reports.html && (
        <a href={`${base}.html`} target="_blank" rel="noreferrer">
          Report (HTML)
        </a>
      )}{" "}
      {run.reports.pdf && (
        <a href={`${base}.pdf`} download={`${run.name}-report.pdf`}>
          Report (PDF)
        </a>
      )}
    </p>
  );
}

function Monitor({ runId }: { runId: string }) {
  const run = useApi<RunDetail>(`/api/runs/${runId}`);
  const chart = useRef<LiveChartHandle>(null);
  const latest = useRef(new Map<string, MetricPoint>());
  const [tick, setTick] = useState(0);
  useEffect(() => {
    latest.current = new Map();
    const batcher = new PointBatcher((batch) => {
      chart.current?.append(batch);
      setTick((n) => n + 1);
    });
    return openStream(`/api/ws/runs/${runId}/metrics`, (message) => {
      for (const point of pointsOf(message.data)) {
        latest.current.set(point.key, point);
        if (isCurve(point.key)) batcher.push(point.key, [point.step, point.value]);
      }
    });
  }, [runId]);
  const progress = useMemo(
    () => progressOf(latest.current, epochsOf(run.data), startOf(run.data), Date.now()),
    // tick: recomputed once per flushed batch
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [run.data, tick],
  );
  return (
    <>
      <ErrorLine error={run.error} />
      <div className="mf-grid">
        <Card title="Run">
          <p>
            {run.data?.name ?? runId} {run.data && <Badge status={run.data.status} />}
          </p>
          <p className="mf-muted">started {when(run.data?.start_time)}</p>
          {run.data && <ReportLinks run={run.data} />}
        </Card>
        <Card title="Progress">
          <p data-testid="epoch">
            epoch {num(progress.epoch)} / {num(progress.epochs)}
          </p>
          <p data-testid="eta">ETA {progress.etaSeconds === null ? "—" : duration(progress.etaSeconds)}</p>
          <p data-testid="lr">learning rate {num(progress.lr)}</p>
        </Card>
        <Card title="Latest">
          {[...latest.current.values()].filter((p) => !isProgressKey(p.key)).map((p) => (
            <div key={p.key}>
              {p.key}: {num(p.value)}
            </div>
          ))}
        </Card>
      </div>
      <Card title="Metrics">
        <LiveChart ref={chart} label="live metrics" />
      </Card>
    </>
  );
}

export default function MonitorPage() {
  const { runId } = useParams();
  const navigate = useNavigate();
  const runs = useApi<Run[]>("/api/runs?limit=50&sort=start_time%20desc");
  const list = runs.data ?? [];
  return (
    <Page
      title="Training monitor"
      actions={
        <Field label="Run">
          <Select aria-label="run" value={runId ?? ""} onChange={(e) => navigate(`/monitor/${e.target.value}`)}>
            <option value="">choose a run…</option>
            {list.map((r) => (
              <option key={r.id} value={r.id}>
                {r.name} ({r.status})
              </option>
            ))}
          </Select>
        </Field>
      }
    >
      {runId ? <Monitor key={runId} runId={runId} /> : <p className="mf-muted">Choose a run, or open one from the <Link to="/runs">runs table</Link>.</p>}
    </Page>
  );
}
