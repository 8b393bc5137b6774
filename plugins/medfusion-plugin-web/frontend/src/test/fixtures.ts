/** Answers of the API for component tests, typed by the generated OpenAPI types so that a change
 * of the server's shapes breaks `tsc` here too. */
import type { RunDetail, Run, User } from "../api/types";

/** A user of `role`. */
export function userOf(role: User["role"], username = "u"): User {
  return { id: 1, username, role, created: 0 };
}

/** A finished run called `name` with `metrics`. */
export function runOf(id: string, name: string, status: string, metrics: Run["metrics"]): Run {
  return {
    id,
    name,
    status,
    metrics,
    experiment: "default",
    start_time: 0,
    end_time: null,
    run_dir: `/runs/${name}`,
    data_fingerprint: null,
    lineage: {},
    parent_run_id: null,
    params: {},
    tags: {},
  };
}

/** `run` as `GET /api/runs/{id}` answers it, with the report formats given. */
export function runDetailOf(run: Run, reports: RunDetail["reports"]): RunDetail {
  return { ...run, artifacts: [], model_versions: [], reports };
}
