/** Shapes of the API's answers the pages read. */

export type Role = "admin" | "researcher" | "viewer";

export interface User {
  id: number | string;
  username: string;
  role: Role;
}

export interface NodeKind {
  name: string;
  summary: string;
  plugin: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
  params_schema: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
}

export interface WorkflowNode {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  position: { x: number; y: number };
}

export interface WorkflowEdge {
  source: string;
  source_output: string;
  target: string;
  target_input: string;
}

export interface WorkflowDoc {
  schema_version: 1;
  name: string;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
}

export interface WorkflowIssue {
  node: string | null;
  field: string | null;
  message: string;
}

export interface Run {
  id: string;
  name: string;
  experiment?: string;
  status: string;
  start_time?: string | number | null;
  end_time?: string | number | null;
  params?: Record<string, unknown>;
  metrics?: Record<string, number>;
  tags?: Record<string, string>;
}
