/** The `.medfusion` document the editor edits: new ids, defaults from a node's schema, parsing of
 * imported files, pasted copies and the localStorage draft. */
import type { JsonSchema, NodeKind, WorkflowDoc, WorkflowNode } from "../api/types";

/** An empty workflow named `name`. */
export function emptyDoc(name = "untitled"): WorkflowDoc {
  return { schema_version: 1, name, description: "", nodes: [], edges: [] };
}

/** A node id not yet used in `doc`, built from the kind (`train`, `train_2`, ...). */
export function freshId(doc: WorkflowDoc, kind: string): string {
  const used = new Set(doc.nodes.map((n) => n.id));
  if (!used.has(kind)) return kind;
  let i = 2;
  while (used.has(`${kind}_${i}`)) i += 1;
  return `${kind}_${i}`;
}

/** The parameter values a schema's defaults give. */
export function defaults(schema: JsonSchema): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [key, prop] of Object.entries(schema.properties ?? {})) if (prop.default !== undefined) values[key] = prop.default;
  return values;
}

/** A new node of `kind` at `position`. */
export function newNode(doc: WorkflowDoc, kind: NodeKind, position: { x: number; y: number }): WorkflowNode {
  return { id: freshId(doc, kind.name), kind: kind.name, params: defaults(kind.params_schema), position };
}

/** Parse an imported `.medfusion` file; throws one line naming what is wrong. */
export function parseDoc(text: string): WorkflowDoc {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`not a .medfusion file: ${(err as Error).message}`);
  }
  const doc = value as Partial<WorkflowDoc>;
  if (!doc || typeof doc !== "object") throw new Error("not a .medfusion file: expected a JSON object");
  if (doc.schema_version !== 1) throw new Error(`schema_version: expected 1, got ${JSON.stringify(doc.schema_version)}`);
  if (!Array.isArray(doc.nodes)) throw new Error("nodes: expected a list");
  if (!Array.isArray(doc.edges)) throw new Error("edges: expected a list");
  return { schema_version: 1, name: doc.name ?? "imported", description: doc.description ?? "", nodes: doc.nodes, edges: doc.edges };
}

/** Copies of `nodes` (with the edges among them) pasted into `doc` at an offset, with new ids. */
export function pasteInto(doc: WorkflowDoc, clip: WorkflowDoc): WorkflowDoc {
  const next: WorkflowDoc = { ...doc, nodes: [...doc.nodes], edges: [...doc.edges] };
  const ids = new Map<string, string>();
  for (const node of clip.nodes) {
    const id = freshId(next, node.kind);
    ids.set(node.id, id);
    next.nodes.push({ ...node, id, params: { ...node.params }, position: { x: node.position.x + 40, y: node.position.y + 40 } });
  }
  for (const edge of clip.edges) {
    const source = ids.get(edge.source);
    const target = ids.get(edge.target);
    if (source && target) next.edges.push({ ...edge, source, target });
  }
  return next;
}

/** `doc` without the nodes in `ids` and their edges. */
export function removeNodes(doc: WorkflowDoc, ids: Set<string>): WorkflowDoc {
  return {
    ...doc,
    nodes: doc.nodes.filter((n) => !ids.has(n.id)),
    edges: doc.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target)),
  };
}

const DRAFT_KEY = "medfusion.editor.draft";

/** Save the editor's draft (survives a reload). */
export function saveDraft(key: string, doc: WorkflowDoc): void {
  localStorage.setItem(`${DRAFT_KEY}.${key}`, JSON.stringify(doc));
}

/** The saved draft for `key`, if any. */
export function loadDraft(key: string): WorkflowDoc | null {
  const text = localStorage.getItem(`${DRAFT_KEY}.${key}`);
  if (!text) return null;
  try {
    return parseDoc(text);
  } catch {
    return null;
  }
}

/** Forget the draft once it is saved to the server. */
export function clearDraft(key: string): void {
  localStorage.removeItem(`${DRAFT_KEY}.${key}`);
}
