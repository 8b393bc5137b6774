import type { NodeKind, WorkflowDoc } from "../api/types";
import { emptyDoc, newNode, parseDoc, pasteInto, removeNodes } from "./doc";
import { History } from "./history";
import { commandOf } from "./keys";
import { compatible, connectionProblem } from "./typecheck";

const kind = (name: string, inputs: Record<string, string>, outputs: Record<string, string>): NodeKind => ({
  name,
  summary: "",
  plugin: "test",
  category: "",
  inputs,
  outputs,
  optional: [],
  params_schema: { type: "object", properties: { epochs: { type: "integer", default: 2 } } },
});
const KINDS = new Map([
  ["dataset", kind("dataset", {}, { dataset: "Dataset" })],
  ["train", kind("train", { dataset: "Dataset" }, { runs: "Runs" })],
  ["evaluate", kind("evaluate", { runs: "Runs" }, { report: "Report" })],
]);

function doc(): WorkflowDoc {
  let d = emptyDoc();
  for (const name of ["dataset", "train", "evaluate"]) d = { ...d, nodes: [...d.nodes, newNode(d, KINDS.get(name)!, { x: 0, y: 0 })] };
  return d;
}

describe("edge type checks", () => {
  it("accepts equal types and any", () => {
    expect(compatible("Dataset", "Dataset")).toBe(true);
    expect(compatible("Runs", "any")).toBe(true);
    expect(compatible("Runs", "Dataset")).toBe(false);
  });
  it("lets a list input take single items and lists of its type", () => {
    expect(compatible("run", "run[]")).toBe(true);
    expect(compatible("run[]", "run[]")).toBe(true);
    expect(compatible("run[]", "run")).toBe(false);
    expect(compatible("dataset", "run[]")).toBe(false);
    const kinds = new Map([...KINDS, ["many", kind("many", { runs: "Runs[]" }, {})]]);
    const d = { ...doc(), nodes: [...doc().nodes, { id: "many", kind: "many", params: {}, position: { x: 0, y: 0 } }] };
    const first = { source: "train", source_output: "runs", target: "many", target_input: "runs" };
    const train2 = { ...d.nodes[1]!, id: "train_2" };
    const nodes = [...d.nodes, train2];
    expect(connectionProblem({ ...first, source: "train_2" }, nodes, [first], kinds)).toBeNull();
    expect(connectionProblem(first, nodes, [first], kinds)).toMatch(/already connected/);
  });
  it("names both ends of a mismatch", () => {
    const d = doc();
    const problem = connectionProblem({ source: "dataset", source_output: "dataset", target: "evaluate", target_input: "runs" }, d.nodes, d.edges, KINDS);
    expect(problem).toBe("dataset.dataset is Dataset, evaluate.runs takes Runs");
  });
  it("refuses a second edge into one input and self loops", () => {
    const d = doc();
    const edge = { source: "dataset", source_output: "dataset", target: "train", target_input: "dataset" };
    expect(connectionProblem(edge, d.nodes, d.edges, KINDS)).toBeNull();
    expect(connectionProblem(edge, d.nodes, [edge], KINDS)).toMatch(/already connected/);
    expect(connectionProblem({ ...edge, target: "dataset" }, d.nodes, [], KINDS)).toMatch(/itself/);
  });
});

describe("document", () => {
  it("gives new nodes fresh ids and schema defaults", () => {
    const d = doc();
    const again = newNode(d, KINDS.get("train")!, { x: 1, y: 2 });
    expect(again.id).toBe("train_2");
    expect(again.params).toEqual({ epochs: 2 });
  });
  it("pastes copies with new ids and their inner edges", () => {
    const d = { ...doc(), edges: [{ source: "dataset", source_output: "dataset", target: "train", target_input: "dataset" }] };
    const pasted = pasteInto(d, { ...d, nodes: d.nodes.slice(0, 2) });
    expect(pasted.nodes.map((n) => n.id)).toEqual(["dataset", "train", "evaluate", "dataset_2", "train_2"]);
    expect(pasted.edges[1]).toEqual({ source: "dataset_2", source_output: "dataset", target: "train_2", target_input: "dataset" });
  });
  it("removes nodes with their edges", () => {
    const d = { ...doc(), edges: [{ source: "dataset", source_output: "dataset", target: "train", target_input: "dataset" }] };
    const left = removeNodes(d, new Set(["train"]));
    expect(left.nodes.map((n) => n.id)).toEqual(["dataset", "evaluate"]);
    expect(left.edges).toEqual([]);
  });
  it("says what is wrong with an imported file", () => {
    expect(() => parseDoc("{")).toThrow(/not a .medfusion file/);
    expect(() => parseDoc('{"schema_version": 2, "nodes": [], "edges": []}')).toThrow("schema_version: expected 1, got 2");
    expect(() => parseDoc('{"schema_version": 1, "edges": []}')).toThrow("nodes: expected a list");
    expect(parseDoc(JSON.stringify(doc())).nodes).toHaveLength(3);
  });
});

describe("undo and redo", () => {
  it("walks back and forth and drops the future on a new change", () => {
    const h = new History(0);
    h.push(1);
    h.push(2);
    expect(h.undo()).toBe(1);
    expect(h.undo()).toBe(0);
    expect(h.undo()).toBe(0);
    expect(h.redo()).toBe(1);
    h.push(5);
    expect(h.redo()).toBe(5);
  });
});

describe("keyboard", () => {
  const press = (key: string, mods: Partial<KeyboardEvent> = {}, tag = "DIV") =>
    commandOf({ key, ctrlKey: false, metaKey: false, shiftKey: false, target: { tagName: tag } as unknown as EventTarget, ...mods });
  it("maps the editor's keys", () => {
    expect(press("Delete")).toBe("delete");
    expect(press("z", { ctrlKey: true })).toBe("undo");
    expect(press("Z", { ctrlKey: true, shiftKey: true })).toBe("redo");
    expect(press("y", { metaKey: true })).toBe("redo");
    expect(press("c", { ctrlKey: true })).toBe("copy");
    expect(press("v", { ctrlKey: true })).toBe("paste");
    expect(press("Backspace", {}, "INPUT")).toBeNull();
  });
});
