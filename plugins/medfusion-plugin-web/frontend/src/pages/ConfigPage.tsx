/** Config builder: a training config made with a form generated from `/api/config/schema`,
 * downloaded (JSON is valid YAML) or submitted as a training job (whose page opens). */
import { useState } from "react";
import { useNavigate } from "react-router-dom";
import { api } from "../api/client";
import type { Job, JobRequest, JsonSchema } from "../api/types";
import { SchemaForm } from "../editor/SchemaForm";
import { downloadText } from "../lib/download";
import { useApi } from "../lib/useApi";
import { ActionButton, Button, Card, ErrorLine, Page, Select } from "../ui";

export default function ConfigPage() {
  const schema = useApi<JsonSchema>("/api/config/schema");
  const [config, setConfig] = useState<Record<string, unknown>>(() => JSON.parse(localStorage.getItem("medfusion.config.draft") ?? "{}") as Record<string, unknown>);
  const [modalities, setModalities] = useState("all");
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const change = (next: Record<string, unknown>) => {
    setConfig(next);
    localStorage.setItem("medfusion.config.draft", JSON.stringify(next));
  };
  const submit = () =>
    api.post<Job>("/api/jobs", { config, modalities, priority: 0 } satisfies JobRequest).then(
      (job) => navigate(`/jobs/${job.id}`),
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
      <div className="mf-grid">
        <Card title="Settings">{schema.data && <SchemaForm schema={schema.data} value={config} onChange={change} />}</Card>
        <Card title="config.yaml">
          <pre className="mf-log">{JSON.stringify(config, null, 2)}</pre>
        </Card>
      </div>
    </Page>
  );
}
