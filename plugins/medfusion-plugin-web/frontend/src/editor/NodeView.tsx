/** One workflow node on the canvas: its kind, inputs on the left, outputs on the right, and the
 * validation errors that name it. */
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import type { NodeKind, WorkflowNode } from "../api/types";

export type FlowNodeData = { node: WorkflowNode; kind: NodeKind | undefined; issues: string[]; state?: string };
export type FlowNode = Node<FlowNodeData, "mf">;

function portTop(index: number, count: number): string {
  return `${((index + 1) / (count + 1)) * 100}%`;
}

/** The node renderer registered as type `mf`. */
export function NodeView({ data, selected }: NodeProps<FlowNode>) {
  const inputs = Object.entries(data.kind?.inputs ?? {});
  const outputs = Object.entries(data.kind?.outputs ?? {});
  const rows = Math.max(inputs.length, outputs.length, 1);
  return (
    <div
      className={`mf-node${selected ? " selected" : ""}${data.issues.length ? " invalid" : ""}`}
      data-testid={`node-${data.node.id}`}
      style={{ minHeight: 36 + rows * 18 }}
    >
      <strong>{data.node.id}</strong> <span className="mf-muted">{data.node.kind}</span>
      {data.state && <div className={`mf-badge mf-badge-${data.state}`}>{data.state}</div>}
      {inputs.map(([name, type], i) => (
        <Handle key={`in-${name}`} id={name} type="target" position={Position.Left} style={{ top: portTop(i, inputs.length) }} title={`${name}: ${type}`} data-port={`${data.node.id}.in.${name}`} />
      ))}
      {outputs.map(([name, type], i) => (
        <Handle key={`out-${name}`} id={name} type="source" position={Position.Right} style={{ top: portTop(i, outputs.length) }} title={`${name}: ${type}`} data-port={`${data.node.id}.out.${name}`} />
      ))}
      {data.issues.length > 0 && (
        <div className="mf-node-issues">
          {data.issues.map((issue) => (
            <div key={issue} className="mf-node-issue" role="alert">
              {issue}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
