/** Runs: the table with the store's filter language, sort by column, and a selection to compare;
 * filter, sort and selection live in the URL. */
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import type { Run } from "../api/types";
import { num, when } from "../lib/format";
import { metricKeys, nextSort, sortRuns } from "../lib/runsTable";
import { useApi } from "../lib/useApi";
import { Badge, Button, Card, ErrorLine, Input, Page } from "../ui";

export default function RunsPage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filter = params.get("filter") ?? "";
  const sort = params.get("sort");
  const chosen = new Set((params.get("selected") ?? "").split(",").filter(Boolean));
  const [draft, setDraft] = useState(filter);
  const query = new URLSearchParams({ limit: "500" });
  if (filter) query.set("filter", filter);
  for (const key of ["experiment", "status"]) {
    const value = params.get(key);
    if (value) query.set(key, value);
  }
  const { data, error } = useApi<Run[]>(`/api/runs?${query.toString()}`);
  const runs = sortRuns(data ?? [], sort);
  const metrics = metricKeys(runs).slice(0, 8);
  const update = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next);
  };
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    update({ selected: [...next].join(",") || null });
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update({ filter: draft || null });
  };
  const header = (column: string, label: string) => (
    <th key={column} aria-sort={sort?.startsWith(`${column} `) ? (sort.endsWith("desc") ? "descending" : "ascending") : "none"}>
      <button onClick={() => update({ sort: nextSort(sort, column) })}>{label}</button>
    </th>
  );
  return (
    <Page
      title="Runs"
      actions={
        <Button variant="primary" disabled={chosen.size < 2} onClick={() => navigate(`/runs/compare?runs=${[...chosen].join(",")}`)}>
          Compare {chosen.size || ""}
        </Button>
      }
    >
      <Card>
        <form onSubmit={submit} className="mf-row">
          <Input aria-label="filter" style={{ flex: 1 }} placeholder="metrics.val_auroc > 0.8 and status = 'finished'" value={draft} onChange={(e) => setDraft(e.target.value)} />
          <Button type="submit">Filter</Button>
        </form>
        <ErrorLine error={error} />
      </Card>
      <Card title={`${runs.length} runs`}>
        <div style={{ overflowX: "auto" }}>
          <table className="mf-table" data-testid="runs-table">
            <thead>
              <tr>
                <th />
                {header("name", "name")}
                {header("experiment", "experiment")}
                {header("status", "status")}
                {header("start_time", "started")}
                {metrics.map((key) => header(`metrics.${key}`, key))}
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id}>
                  <td>
                    <input type="checkbox" aria-label={`select ${run.name}`} checked={chosen.has(run.id)} onChange={() => toggle(run.id)} />
                  </td>
                  <td>
                    <Link to={`/monitor/${run.id}`}>{run.name}</Link>
                  </td>
                  <td>{run.experiment}</td>
                  <td>
                    <Badge status={run.status} />
                  </td>
                  <td>{when(run.start_time)}</td>
                  {metrics.map((key) => (
                    <td key={key}>{num(run.metrics?.[key])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
    </Page>
  );
}
