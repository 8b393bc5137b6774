/** Dashboard: running jobs and executions, recent runs, and the system load live. */
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { openStream } from "../api/ws";
import type { Run } from "../api/types";
import { num, when } from "../lib/format";
import { listOf, useApi } from "../lib/useApi";
import { Badge, Card, ErrorLine, Page } from "../ui";

interface Job {
  id: string;
  state: string;
  run_id?: string | null;
  run_ids?: string[];
}

export default function DashboardPage() {
  const jobs = useApi<unknown>("/api/jobs");
  const executions = useApi<unknown>("/api/executions");
  const runs = useApi<unknown>("/api/runs?limit=10&sort=start_time%20desc");
  const [system, setSystem] = useState<Record<string, unknown>>({});
  useEffect(() => openStream("/api/ws/system", (message) => setSystem((message.data as Record<string, unknown>) ?? {})), []);
  const active = (state: string) => ["running", "queued", "pending"].includes(state);
  return (
    <Page title="Dashboard">
      <div className="mf-grid">
        <Card title="System">
          <dl data-testid="system">
            {Object.entries(system)
              .filter(([, v]) => typeof v !== "object")
              .map(([key, value]) => (
                <div key={key} className="mf-row">
                  <dt className="mf-muted">{key}</dt>
                  <dd>{num(value)}</dd>
                </div>
              ))}
          </dl>
          {!Object.keys(system).length && <p className="mf-muted">waiting for the system stream…</p>}
        </Card>
        <Card title="Running jobs">
          <ErrorLine error={jobs.error} />
          <ul>
            {listOf<Job>(jobs.data, "jobs").filter((j) => active(j.state)).map((job) => (
              <li key={job.id}>
                {job.id} <Badge status={job.state} /> {job.run_id && <Link to={`/monitor/${job.run_id}`}>monitor</Link>}
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Executions">
          <ul>
            {listOf<{ id: string; state: string; name?: string }>(executions.data, "executions").slice(0, 10).map((e) => (
              <li key={e.id}>
                <Link to={`/executions/${e.id}`}>{e.name ?? e.id}</Link> <Badge status={e.state} />
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title="Recent runs">
        <ErrorLine error={runs.error} />
        <table className="mf-table">
          <tbody>
            {listOf<Run>(runs.data, "runs").map((run) => (
              <tr key={run.id}>
                <td>
                  <Link to={`/runs?filter=${encodeURIComponent(`name = '${run.name}'`)}`}>{run.name}</Link>
                </td>
                <td>
                  <Badge status={run.status} />
                </td>
                <td>{when(run.start_time)}</td>
                <td>
                  <Link to={`/monitor/${run.id}`}>monitor</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </Page>
  );
}
