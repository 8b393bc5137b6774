/** Datasets: upload an archive with progress, the list, and one dataset's class balance, missing
 * values and patients (their images previewed beside the clinical row). */
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { upload } from "../api/client";
import type { Dataset, PatientPage } from "../api/types";
import { num } from "../lib/format";
import { useApi } from "../lib/useApi";
import { ActionButton, Button, Card, ErrorLine, Field, Input, Page, Progress } from "../ui";

type Patient = PatientPage["rows"][number];

/** The image paths of a manifest row: the values of its image columns (`;`-separated lists too). */
export function imagesOf(row: Patient, columns: string[]): string[] {
  return columns.flatMap((c) => (typeof row[c] === "string" ? (row[c] as string).split(";").map((p) => p.trim()).filter(Boolean) : []));
}

const PAGE = 20;

function Upload({ onDone }: { onDone: (id: string) => void }) {
  const [name, setName] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const send = () => {
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    form.append("name", name || file.name.replace(/\.(zip|tar\.gz|tgz)$/, ""));
    setError(null);
    setProgress(0);
    upload<Dataset>("/api/datasets", form, setProgress).then(
      (d) => onDone(d.id),
      (err: Error) => {
        setError(err.message);
        setProgress(null);
      },
    );
  };
  return (
    <Card title="Upload a dataset (.zip or .tar.gz with manifest.csv and images)">
      <div className="mf-row">
        <Field label="Name">
          <Input name="dataset-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Archive">
          <input type="file" name="archive" accept=".zip,.tar.gz,.tgz" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </Field>
        <ActionButton variant="primary" onClick={send} disabled={!file}>
          Upload
        </ActionButton>
      </div>
      {progress !== null && <Progress value={progress} />}
      <ErrorLine error={error} />
    </Card>
  );
}

function Bars({ values, label }: { values: Record<string, number>; label: string }) {
  const max = Math.max(1, ...Object.values(values));
  return (
    <table className="mf-table" aria-label={label}>
      <tbody>
        {Object.entries(values).map(([key, value]) => (
          <tr key={key}>
            <td>{key}</td>
            <td style={{ width: "60%" }}>
              <div style={{ background: "var(--accent)", height: 10, width: `${(value / max) * 100}%` }} />
            </td>
            <td>{num(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DatasetDetail({ id }: { id: string }) {
  const dataset = useApi<Dataset>(`/api/datasets/${id}`);
  const [offset, setOffset] = useState(0);
  const patients = useApi<PatientPage>(`/api/datasets/${id}/patients?offset=${offset}&limit=${PAGE}`);
  const [open, setOpen] = useState<Patient | null>(null);
  const rows = patients.data?.rows ?? [];
  const columns = patients.data?.image_columns ?? [];
  const images = (p: Patient) => imagesOf(p, columns);
  return (
    <>
      <ErrorLine error={dataset.error ?? patients.error} />
      <div className="mf-grid">
        <Card title="Class balance">
          <Bars values={dataset.data?.class_balance ?? {}} label="class balance" />
        </Card>
        <Card title="Missing values per column">
          <Bars values={dataset.data?.missing ?? {}} label="missing values" />
        </Card>
      </div>
      <Card title={`Patients (${num(dataset.data?.patients)}, ${num(patients.data?.total)} rows)`} actions={<><Button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</Button><Button disabled={rows.length < PAGE} onClick={() => setOffset(offset + PAGE)}>Next</Button></>}>
        <table className="mf-table" data-testid="patients">
          <tbody>
            {rows.map((p, i) => (
              <tr key={offset + i} onClick={() => setOpen(p)} style={{ cursor: "pointer" }}>
                {Object.entries(p)
                  .filter(([k]) => !columns.includes(k))
                  .map(([k, v]) => (
                    <td key={k} title={k}>
                      {num(v)}
                    </td>
                  ))}
                <td>{images(p).length} image(s)</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      {open && (
        <Card title={`Patient ${num(open.patient_id ?? "")}`} actions={<Button onClick={() => setOpen(null)}>Close</Button>}>
          <div className="mf-row">
            {images(open).map((path) => (
              <img key={path} alt={path} src={`/api/datasets/${id}/image?path=${encodeURIComponent(path)}`} width={128} height={128} style={{ objectFit: "contain" }} />
            ))}
          </div>
          <dl>
            {Object.entries(open)
              .filter(([k]) => !columns.includes(k))
              .map(([k, v]) => (
                <div key={k} className="mf-row">
                  <dt className="mf-muted">{k}</dt>
                  <dd>{num(v)}</dd>
                </div>
              ))}
          </dl>
        </Card>
      )}
    </>
  );
}

export default function DatasetsPage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const list = useApi<Dataset[]>("/api/datasets");
  return (
    <Page title="Datasets">
      <Upload
        onDone={(newId) => {
          list.reload();
          navigate(`/datasets/${newId}`);
        }}
      />
      <Card title="Datasets">
        <ErrorLine error={list.error} />
        <ul>
          {(list.data ?? []).map((d) => (
            <li key={d.id}>
              <Link to={`/datasets/${d.id}`}>{d.name}</Link> <span className="mf-muted">{num(d.patients)} patients</span>
            </li>
          ))}
        </ul>
      </Card>
      {id && <DatasetDetail key={id} id={id} />}
    </Page>
  );
}
