import { PointBatcher, type Point } from "./batcher";
import { pointsOf, progressOf } from "./points";
import { curvePoints, curvesByName, estimate } from "../lib/compare";

describe("point batcher", () => {
  it("flushes many points in one batch per frame", () => {
    const frames: (() => void)[] = [];
    const flushed: Map<string, Point[]>[] = [];
    const batcher = new PointBatcher((b) => flushed.push(b), (cb) => frames.push(cb));
    for (let step = 0; step < 500; step += 1) {
      batcher.push("loss", [step, 1 / (step + 1)]);
      batcher.push("val_auroc", [step, 0.5]);
    }
    expect(frames).toHaveLength(1);
    expect(flushed).toHaveLength(0);
    frames.shift()!();
    expect(flushed).toHaveLength(1);
    expect(flushed[0]!.get("loss")).toHaveLength(500);
    batcher.push("loss", [500, 0]);
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(batcher.flushes).toBe(2);
  });
});

describe("metric stream messages", () => {
  it("reads one point, a list, or {points}", () => {
    const p = { key: "loss", step: 1, value: 0.5 };
    expect(pointsOf(p)).toEqual([p]);
    expect(pointsOf([p, { bad: 1 }])).toEqual([p]);
    expect(pointsOf({ points: [p] })).toEqual([p]);
    expect(pointsOf("x")).toEqual([]);
  });
  it("estimates the remaining time from finished epochs", () => {
    const latest = new Map([
      ["epoch", { key: "epoch", step: 2, value: 2 }],
      ["lr", { key: "lr", step: 2, value: 0.001 }],
    ]);
    expect(progressOf(latest, 10, 0, 20_000)).toEqual({ epoch: 2, epochs: 10, lr: 0.001, etaSeconds: 80_000 });
    expect(progressOf(new Map(), 10, 0, 1).etaSeconds).toBeNull();
    const prefixed = new Map([
      ["fused/lr", { key: "fused/lr", step: 1, value: 0.1, time: 1 }],
      ["image-only/lr", { key: "image-only/lr", step: 1, value: 0.2, time: 2 }],
    ]);
    expect(progressOf(prefixed, null, null, 0).lr).toBe(0.2);
  });
});

describe("comparison answer", () => {
  it("formats estimates with their confidence interval", () => {
    expect(estimate({ value: 0.8123, low: 0.75, high: 0.866 })).toBe("0.812 [0.750, 0.866]");
    expect(estimate(3)).toBe("3");
    expect(estimate(null)).toBe("—");
  });
  it("reads curves as pairs or parallel arrays and groups them by curve", () => {
    expect(curvePoints([[0, 0], [1, 1]])).toEqual([[0, 0], [1, 1]]);
    expect(curvePoints({ fpr: [0, 1], tpr: [0, 1] })).toEqual([[0, 0], [1, 1]]);
    const grouped = curvesByName({ fused: { roc: [[0, 0]] }, image_only: { roc: [[0, 1]] } });
    expect(grouped.roc!.map((s) => s.name)).toEqual(["fused", "image_only"]);
  });
});
