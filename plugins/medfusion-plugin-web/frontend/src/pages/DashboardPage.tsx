/** Dashboard: running jobs and executions, recent runs, and the system load live. */
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { openStream } from "../api/ws";
import type { ExecutionSummary, Job, Run, SystemLoad } from "../api/types";
import { num, when } from "../lib/format";
import { useApi } from "../lib/useApi";
import { Badge, Card, ErrorLine, Page } from "../ui";

export default function DashboardPage() {
  const jobs = useApi<Job[]>("/api/jobs");
  const executions = useApi<ExecutionSummary[]>("/api/executions");
  const runs = useApi<Run[]>("/api/runs?limit=10&sort=start_time%20desc");
  const [system, setSystem] = useState<Partial<SystemLoad>>({});
  useEffect(() => openStream("/api/ws/system", (message) => setSystem((message.data as SystemLoad | null) ?? {})), []);
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
            {(jobs.data ?? []).filter((j) => active(j.state)).map((job) => (
              <li key={job.id}>
                <Link to={`/jobs/${job.id}`}>{job.id.slice(0, 8)}</Link> <Badge status={job.state} />
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Executions">
          <ul>
            {(executions.data ?? []).slice(0, 10).map((e) => (
              <li key={e.id}>
                <Link to={`/executions/${e.id}`}>{e.name}</Link> <Badge status={e.state} />
              </li>
            ))}
          </ul>
        </Card>
      </div>
      <Card title="Recent runs">
        <ErrorLine error={runs.error} />
        <table className="mf-table">
          <tbody>
            {(runs.data ?? []).map((run) => (
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
