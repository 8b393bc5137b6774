import type { Run } from "../api/types";
import { runOf as run } from "../test/fixtures";
import { metricKeys, nextSort, sortRuns } from "./runsTable";

const runs: Run[] = [run("a", "alpha", "finished", { auroc: 0.7 }), run("b", "beta", "failed", {}), run("c", "gamma", "finished", { auroc: 0.9, loss: 0.2 })];

describe("runs table ordering", () => {
  it("sorts by a metric with missing values last, both ways", () => {
    expect(sortRuns(runs, "metrics.auroc asc").map((r) => r.id)).toEqual(["a", "c", "b"]);
    expect(sortRuns(runs, "metrics.auroc desc").map((r) => r.id)).toEqual(["c", "a", "b"]);
    expect(sortRuns(runs, "name desc").map((r) => r.id)).toEqual(["c", "b", "a"]);
    expect(sortRuns(runs, null)).toBe(runs);
  });
  it("toggles the direction on a second click", () => {
    expect(nextSort(null, "name")).toBe("name asc");
    expect(nextSort("name asc", "name")).toBe("name desc");
    expect(nextSort("name desc", "name")).toBe("name asc");
    expect(nextSort("name asc", "status")).toBe("status asc");
  });
  it("lists the metric columns", () => {
    expect(metricKeys(runs)).toEqual(["auroc", "loss"]);
  });
});
