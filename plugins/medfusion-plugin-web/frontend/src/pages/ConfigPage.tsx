/** Config builder: a training config made with a form generated from `/api/config/schema`,
 * downloaded (JSON is valid YAML) or submitted as a training job. */
import { useState } from "react";
import { api } from "../api/client";
import type { JsonSchema } from "../api/types";
import { SchemaForm } from "../editor/SchemaForm";
import { downloadText } from "../lib/download";
import { useApi } from "../lib/useApi";
import { ActionButton, Button, Card, ErrorLine, Page, Select } from "../ui";

export default function ConfigPage() {
  const schema = useApi<JsonSchema>("/api/config/schema");
  const [config, setConfig] = useState<Record<string, unknown>>(() => JSON.parse(localStorage.getItem("medfusion.config.draft") ?? "{}") as Record<string, unknown>);
  const [modalities, setModalities] = useState("all");
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const change = (next: Record<string, unknown>) => {
    setConfig(next);
    localStorage.setItem("medfusion.config.draft", JSON.stringify(next));
  };
  const submit = () =>
    api.post<{ id: string }>("/api/jobs", { config, modalities, priority: 0 }).then(
      (job) => setStatus(`training job ${job.id} queued`),
      (err: Error) => setError(err.message),
    );
  return (
    <Page
      title="Config builder"
      actions={
        <>
          <Select aria-label="modalities" value={modalities} onChange={(e) => setModalities(e.target.value)}>
            {["all", "fused", "image", "clinical"].map((m) => (
              <option key={m}>{m}</option>
            ))}
          </Select>
          <Button onClick={() => downloadText("config.yaml", JSON.stringify(config, null, 2), "text/yaml")}>Download</Button>
          <ActionButton variant="primary" onClick={() => void submit()}>
            Start training
          </ActionButton>
        </>
      }
    >
      <ErrorLine error={schema.error ?? error} />
      {status && <p role="status">{status}</p>}
      <div className="mf-grid">
        <Card title="Settings">{schema.data && <SchemaForm schema={schema.data} value={config} onChange={change} />}</Card>
        <Card title="config.yaml">
          <pre className="mf-log">{JSON.stringify(config, null, 2)}</pre>
        </Card>
      </div>
    </Page>
  );
}
