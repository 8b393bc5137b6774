/** Executions: the list, and one execution's node states live, its event log, cancel and resume. */
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/client";
import { openStream, type StreamMessage } from "../api/ws";
import { when } from "../lib/format";
import { listOf, useApi } from "../lib/useApi";
import { ActionButton, Badge, Card, ErrorLine, Page } from "../ui";

interface NodeState {
  state: string;
  error?: string | null;
  outputs?: Record<string, unknown>;
}

interface Execution {
  id: string;
  state: string;
  workflow_id?: string;
  name?: string;
  nodes?: Record<string, NodeState> | (NodeState & { node: string })[];
  created?: string;
}

/** Node states keyed by node id, from either shape the API may use. */
export function nodeStates(execution: Execution | null): Record<string, NodeState> {
  const nodes = execution?.nodes;
  if (!nodes) return {};
  if (Array.isArray(nodes)) return Object.fromEntries(nodes.map((n) => [n.node, n]));
  return nodes;
}

function runIdsOf(outputs: Record<string, unknown> | undefined): string[] {
  const found: string[] = [];
  const visit = (value: unknown, key: string) => {
    if (typeof value === "string" && /run_id$/.test(key)) found.push(value);
    else if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (value && typeof value === "object") Object.entries(value).forEach(([k, v]) => visit(v, k));
  };
  visit(outputs, "");
  return found;
}

function ExecutionDetail({ id }: { id: string }) {
  const { data, error, reload } = useApi<Execution>(`/api/executions/${id}`);
  const [events, setEvents] = useState<StreamMessage[]>([]);
  const [actionError, setActionError] = useState<string | null>(null);
  useEffect(
    () =>
      openStream(`/api/ws/executions/${id}`, (message) => {
        setEvents((list) => [...list.slice(-499), message]);
        reload();
      }),
    [id, reload],
  );
  const act = (verb: "cancel" | "resume") => () =>
    api.post(`/api/executions/${id}/${verb}`).then(reload, (err: Error) => setActionError(err.message));
  const states = nodeStates(data);
  return (
    <Page
      title={`Execution ${data?.name ?? id}`}
      actions={
        <>
          {data && <Badge status={data.state} />}
          <ActionButton variant="danger" onClick={act("cancel")} disabled={data?.state !== "running"}>
            Cancel
          </ActionButton>
          <ActionButton onClick={act("resume")} disabled={!data || data.state === "running" || data.state === "succeeded"}>
            Resume
          </ActionButton>
        </>
      }
    >
      <ErrorLine error={error ?? actionError} />
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
                  {runIdsOf(state.outputs).map((run) => (
                    <Link key={run} to={`/monitor/${run}`}>
                      {run.slice(0, 8)}{" "}
                    </Link>
                  ))}
                </td>
                <td className="mf-error">{state.error}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <Card title="Log">
        <pre className="mf-log" data-testid="execution-log">
          {events.map((e) => `${e.seq} ${e.type} ${JSON.stringify(e.data)}`).join("\n")}
        </pre>
      </Card>
    </Page>
  );
}

export default function ExecutionPage() {
  const { id } = useParams();
  const list = useApi<unknown>(id ? null : "/api/executions");
  if (id) return <ExecutionDetail id={id} />;
  return (
    <Page title="Executions">
      <ErrorLine error={list.error} />
      <table className="mf-table">
        <tbody>
          {listOf<Execution>(list.data, "executions").map((e) => (
            <tr key={e.id}>
              <td>
                <Link to={`/executions/${e.id}`}>{e.name ?? e.id}</Link>
              </td>
              <td>
                <Badge status={e.state} />
              </td>
              <td>{when(e.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
