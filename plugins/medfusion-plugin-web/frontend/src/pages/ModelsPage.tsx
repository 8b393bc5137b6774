/** Models: the registry's models, one model's versions with aliases, lineage and exported
 * artifacts, registering a run's variant, and promoting a version to champion. */
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import { api } from "../api/client";
import type { AliasTarget, Model, Registration } from "../api/types";
import { num, when } from "../lib/format";
import { useApi } from "../lib/useApi";
import { ActionButton, Card, ErrorLine, Field, Input, Page, Select } from "../ui";

function RegisterForm({ onDone }: { onDone: () => void }) {
  const [run, setRun] = useState("");
  const [name, setName] = useState("");
  const [variant, setVariant] = useState("fused");
  const [error, setError] = useState<string | null>(null);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    api.post("/api/models", { run, variant, name } satisfies Registration).then(onDone, (err: Error) => setError(err.message));
  };
  return (
    <Card title="Register a model version">
      <form onSubmit={submit} className="mf-row">
        <Field label="Run id or name">
          <Input name="run" value={run} onChange={(e) => setRun(e.target.value)} />
        </Field>
        <Field label="Variant">
          <Select name="variant" value={variant} onChange={(e) => setVariant(e.target.value)}>
            {["fused", "image", "clinical"].map((v) => (
              <option key={v}>{v}</option>
            ))}
          </Select>
        </Field>
        <Field label="Model name">
          <Input name="model" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <ActionButton type="submit" variant="primary">
          Register
        </ActionButton>
      </form>
      <ErrorLine error={error} />
    </Card>
  );
}

function ModelDetail({ name }: { name: string }) {
  const { data, error, reload } = useApi<Model>(`/api/models/${encodeURIComponent(name)}`);
  const [actionError, setActionError] = useState<string | null>(null);
  const promote = (version: number) =>
    api.put(`/api/models/${encodeURIComponent(name)}/aliases/champion`, { version } satisfies AliasTarget).then(reload, (err: Error) => setActionError(err.message));
  return (
    <Card title={`Model ${name}`}>
      <ErrorLine error={error ?? actionError} />
      <table className="mf-table" data-testid="versions">
        <thead>
          <tr>
            <th>version</th>
            <th>variant</th>
            <th>run</th>
            <th>aliases</th>
            <th>artifacts</th>
            <th>lineage</th>
            <th>registered</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data?.versions ?? []).map((v) => (
            <tr key={v.version}>
              <td>{v.version}</td>
              <td>{v.variant}</td>
              <td>{v.run_id && <Link to={`/monitor/${v.run_id}`}>{v.run_id.slice(0, 8)}</Link>}</td>
              <td data-testid={`aliases-${v.version}`}>{(v.aliases ?? []).join(", ")}</td>
              <td>
                {(v.artifacts ?? []).map((a) => (
                  <div key={a}>{a.split("/").pop()}</div>
                ))}
              </td>
              <td className="mf-muted">{Object.entries(v.lineage ?? {}).map(([k, x]) => `${k}: ${num(x)}`).join("; ")}</td>
              <td>{when(v.created)}</td>
              <td>
                <ActionButton onClick={() => void promote(v.version)} disabled={(v.aliases ?? []).includes("champion")}>
                  Promote to champion
                </ActionButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

export default function ModelsPage() {
  const { name } = useParams();
  const models = useApi<Model[]>("/api/models");
  return (
    <Page title="Models">
      <ErrorLine error={models.error} />
      <Card title="Registered models">
        <ul>
          {(models.data ?? []).map((m) => (
            <li key={m.name}>
              <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>{" "}
              <span className="mf-muted">{Object.entries(m.aliases ?? {}).map(([a, v]) => `${a}→${v}`).join(", ")}</span>
            </li>
          ))}
        </ul>
      </Card>
      <RegisterForm onDone={models.reload} />
      {name && <ModelDetail key={name} name={name} />}
    </Page>
  );
}
