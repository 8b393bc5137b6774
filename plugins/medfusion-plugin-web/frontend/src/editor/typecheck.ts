/** Edge type checking as the user connects, by the node kind's rule (`medfusion_core.kinds.node.
 * accepts`): an output feeds an input of its type or `any`; a list input (`T[]`) takes outputs of
 * `T` or `T[]`, from any number of edges; any other input takes one edge. */
import type { NodeKind, WorkflowEdge, WorkflowNode } from "../api/types";

const MANY = "[]";
const ANY = "any";

/** Whether a value of type `output` may flow into an input of type `input`. */
export function compatible(output: string, input: string): boolean {
  const base = input.endsWith(MANY) ? input.slice(0, -MANY.length) : input;
  const given = input.endsWith(MANY) && output.endsWith(MANY) ? output.slice(0, -MANY.length) : output;
  return base === ANY || given === ANY || base === given;
}

/** Why the edge may not be drawn, or null when it may. */
export function connectionProblem(
  edge: WorkflowEdge,
  nodes: WorkflowNode[],
  edges: WorkflowEdge[],
  kinds: Map<string, NodeKind>,
): string | null {
  if (edge.source === edge.target) return "a node cannot feed itself";
  const source = nodes.find((n) => n.id === edge.source);
  const target = nodes.find((n) => n.id === edge.target);
  if (!source || !target) return "unknown node";
  const out = kinds.get(source.kind)?.outputs[edge.source_output];
  const inp = kinds.get(target.kind)?.inputs[edge.target_input];
  if (out === undefined) return `${source.id} has no output ${edge.source_output}`;
  if (inp === undefined) return `${target.id} has no input ${edge.target_input}`;
  if (!compatible(out, inp)) return `${source.id}.${edge.source_output} is ${out}, ${target.id}.${edge.target_input} takes ${inp}`;
  if (edges.some((e) => e.source === edge.source && e.source_output === edge.source_output && e.target === edge.target && e.target_input === edge.target_input))
    return "these ports are already connected";
  if (!inp.endsWith(MANY) && edges.some((e) => e.target === edge.target && e.target_input === edge.target_input))
    return `${target.id}.${edge.target_input} is already connected`;
  return null;
}
