/** One training job: its state, cancel and resume, the runs it tracked, and its log live over
 * `/api/ws/jobs/{id}/log` (appended as it is written; the job is re-read when the stream ends). */
import { useEffect, useState } from "react";
import { useParams } from "react-router-dom";
import { api } from "../api/client";
import type { Job } from "../api/types";
import { openStream } from "../api/ws";
import { when } from "../lib/format";
import { useApi } from "../lib/useApi";
import { ActionButton, Badge, Card, ErrorLine, LogCard, Page, RunLinks } from "../ui";

/** The most log text kept on the page (the start is dropped beyond it). */
export const LOG_LIMIT = 200_000;

/** `log` with `text` appended, cut to its last `limit` characters. */
export function appendLog(log: string, text: string, limit = LOG_LIMIT): string {
  const next = log + text;
  return next.length > limit ? next.slice(next.length - limit) : next;
}

const ACTIVE = new Set<Job["state"]>(["queued", "running", "cancelling"]);

export default function JobPage() {
  const { id = "" } = useParams();
  const { data, error, reload } = useApi<Job>(`/api/jobs/${id}`);
  const [log, setLog] = useState("");
  const [actionError, setActionError] = useState<string | null>(null);
  useEffect(() => {
    setLog("");
    return openStream(`/api/ws/jobs/${id}/log`, (message) => {
      const text = (message.data as { text?: unknown } | null)?.text;
      if (message.type === "log" && typeof text === "string") setLog((current) => appendLog(current, text));
      else reload();
    });
  }, [id, reload]);
  const act = (verb: "cancel" | "resume") => () =>
    api.post<Job>(`/api/jobs/${id}/${verb}`).then(reload, (err: Error) => setActionError(err.message));
  const active = data !== null && ACTIVE.has(data.state);
  return (
    <Page
      title={`Training job ${id.slice(0, 8)}`}
      actions={
        <>
          {data && <Badge status={data.state} />}
          <ActionButton variant="danger" onClick={act("cancel")} disabled={!active}>
            Cancel
          </ActionButton>
          <ActionButton onClick={act("resume")} disabled={!data || active || data.state === "finished"}>
            Resume
          </ActionButton>
        </>
      }
    >
      <ErrorLine error={error ?? actionError ?? data?.error ?? null} />
      <Card title="Job">
        <dl data-testid="job">
          <div className="mf-row">
            <dt className="mf-muted">config</dt>
            <dd>{data?.config}</dd>
          </div>
          <div className="mf-row">
            <dt className="mf-muted">modalities</dt>
            <dd>{data?.modalities}</dd>
          </div>
          <div className="mf-row">
            <dt className="mf-muted">started</dt>
            <dd>{when(data?.started)}</dd>
          </div>
          <div className="mf-row">
            <dt className="mf-muted">ended</dt>
            <dd>{when(data?.ended)}</dd>
          </div>
          <div className="mf-row">
            <dt className="mf-muted">runs</dt>
            <dd>
              <RunLinks ids={data?.run_ids ?? []} />
            </dd>
          </div>
        </dl>
      </Card>
      <LogCard testId="job-log">{log}</LogCard>
    </Page>
  );
}
