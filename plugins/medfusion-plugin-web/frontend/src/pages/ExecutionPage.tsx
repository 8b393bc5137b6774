/** Executions: the lists of executions and training jobs, and one execution's node states live,
 * what its nodes recorded (datasets, checkpoints, models), its event log, cancel and resume (a
 * job's own view is `JobPage`). */
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/client";
import type { Execution, ExecutionRecords, ExecutionSummary, Job } from "../api/types";
import { openStream, type StreamMessage } from "../api/ws";
import { num, when } from "../lib/format";
import { useApi } from "../lib/useApi";
import { ActionButton, Badge, Card, ErrorLine, LogCard, Page, RunLinks } from "../ui";

function runIdsOf(outputs: Record<string, unknown> | null | undefined): string[] {
  const found: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (typeof value === "string" && /run_id$/.test(key)) found.push(value);
    else if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (value && typeof value === "object") Object.entries(value).forEach(([k, v]) => visit(v, k));
  };
  visit(outputs, "");
  return found;
}

/** The datasets, checkpoints and model versions the execution's nodes recorded, one row each. */
export function RecordsCard({ records }: { records: ExecutionRecords | null }) {
  const rows = [
    ...(records?.datasets ?? []).map((r) => ({ ...r, kind: "dataset", what: r.name, detail: `${r.fingerprint} · ${num(r.patients)} patients` })),
    ...(records?.checkpoints ?? []).map((r) => ({ ...r, kind: "checkpoint", what: `${r.variant} ${r.role}`, detail: `epoch ${num(r.epoch)} · ${r.path}` })),
    ...(records?.models ?? []).map((r) => ({ ...r, kind: "model", what: `${r.name}/${r.version}`, detail: r.alias ? `@${r.alias}` : "" })),
  ];
  return (
    <Card title="Recorded">
      <table className="mf-table" data-testid="records">
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.kind}-${row.id}`}>
              <td>{row.kind}</td>
              <td>{row.node_id}</td>
              <td>{row.what}</td>
              <td>{row.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function ExecutionDetail({ id }: { id: string }) {
  const { data, error, reload } = useApi<Execution>(`/api/executions/${id}`);
  const records = useApi<ExecutionRecords>(`/api/executions/${id}/records`);
  const reloadRecords = records.reload;
  const [events, setEvents] = useState<StreamMessage[]>([]);
  const [actionError, setActionError] = useState<string | null>(null);
  useEffect(
    () =>
      openStream(`/api/ws/executions/${id}`, (message) => {
        setEvents((list) => [...list.slice(-499), message]);
        reload();
        if (message.type.startsWith("node_")) reloadRecords();
      }),
    [id, reload, reloadRecords],
  );
  const act = (verb: "cancel" | "resume") => () =>
    api.post(`/api/executions/${id}/${verb}`).then(reload, (err: Error) => setActionError(err.message));
  const states = data?.nodes ?? {};
  return (
    <Page
      title={`Execution ${data?.name ?? id}`}
      actions={
        <>
          {data && <Badge status={data.state} />}
          <ActionButton variant="danger" onClick={act("cancel")} disabled={data?.state !== "running"}>
            Cancel
          </ActionButton>
          <ActionButton onClick={act("resume")} disabled={!data || data.state === "running" || data.state === "finished"}>
            Resume
          </ActionButton>
        </>
      }
    >
      <ErrorLine error={error ?? records.error ?? actionError} />
      <Card title="Nodes">
        <table className="mf-table" data-testid="node-states">
          <thead>
            <tr>
              <th>node</th>
              <th>state</th>
              <th>runs</th>
              <th>error</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(states).map(([node, state]) => (
              <tr key={node}>
                <td>{node}</td>
                <td>
                  <Badge status={state.state} />
                </td>
                <td>
                  <RunLinks ids={runIdsOf(state.outputs)} />
                </td>
                <td className="mf-error">{state.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <RecordsCard records={records.data} />
      <LogCard testId="execution-log">{events.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data)}`).join("\n")}</LogCard>
    </Page>
  );
}

export default function ExecutionPage() {
  const { id } = useParams();
  const list = useApi<ExecutionSummary[]>(id ? null : "/api/executions");
  const jobs = useApi<Job[]>(id ? null : "/api/jobs");
  if (id) return <ExecutionDetail id={id} />;
  return (
    <Page title="Executions">
      <ErrorLine error={list.error ?? jobs.error} />
      <Card title="Workflow executions">
        <table className="mf-table">
          <tbody>
            {(list.data ?? []).map((e) => (
              <tr key={e.id}>
                <td>
                  <Link to={`/executions/${e.id}`}>{e.name}</Link>
                </td>
                <td>
                  <Badge status={e.state} />
                </td>
                <td>{when(e.created)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Training jobs">
        <table className="mf-table" data-testid="jobs">
          <tbody>
            {(jobs.data ?? []).map((job) => (
              <tr key={job.id}>
                <td>
                  <Link to={`/jobs/${job.id}`}>{job.id.slice(0, 8)}</Link>
                </td>
                <td>
                  <Badge status={job.state} />
                </td>
                <td>{job.modalities}</td>
                <td>{when(job.created)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </Page>
  );
}
