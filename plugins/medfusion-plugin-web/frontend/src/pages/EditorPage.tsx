/** The workflow editor: palette of the installed node kinds, the canvas, parameter forms from each
 * kind's JSON Schema, type-checked edges, server validation shown on the nodes, save / run /
 * import / export / templates, keyboard commands and a draft that survives reloads. */
import {
  Background,
  Controls,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type NodeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { api } from "../api/client";
import type { Issues, NodeKind, SavedWorkflow, SavedWorkflowSummary, Started, WorkflowDoc, WorkflowEdge, WorkflowIssue } from "../api/types";
import { clearDraft, emptyDoc, loadDraft, newNode, parseDoc, pasteInto, removeNodes, saveDraft } from "../editor/doc";
import { History } from "../editor/history";
import { commandOf } from "../editor/keys";
import { NodeView, type FlowNode } from "../editor/NodeView";
import { SchemaForm } from "../editor/SchemaForm";
import { connectionProblem } from "../editor/typecheck";
import { useAuth } from "../lib/auth";
import { downloadText } from "../lib/download";
import { useApi } from "../lib/useApi";
import { ActionButton, Button, Card, ErrorLine, Field, Input, Page, Select } from "../ui";

const NODE_TYPES = { mf: NodeView };

/** The document of a saved workflow or a template, checked like an imported file. */
export function docOf(answer: SavedWorkflow | WorkflowDoc): WorkflowDoc {
  return parseDoc(JSON.stringify("document" in answer ? answer.document : answer));
}

function Editor() {
  const { id } = useParams();
  const navigate = useNavigate();
  const { canMutate } = useAuth();
  const flow = useReactFlow();
  const draftKey = id ?? "new";
  const kindsAnswer = useApi<NodeKind[]>("/api/nodes");
  const kinds = useMemo(() => new Map((kindsAnswer.data ?? []).map((k) => [k.name, k])), [kindsAnswer.data]);
  const templates = useApi<string[]>("/api/workflow-templates");
  const saved = useApi<SavedWorkflowSummary[]>("/api/workflows");
  const history = useRef(new History<WorkflowDoc>(emptyDoc()));
  const [doc, setDoc] = useState<WorkflowDoc>(() => loadDraft(draftKey) ?? emptyDoc());
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const [issues, setIssues] = useState<WorkflowIssue[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const clipboard = useRef<WorkflowDoc | null>(null);

  const commit = useCallback((next: WorkflowDoc) => {
    history.current.push(next);
    setDoc(next);
  }, []);
  const flowRef = useRef(flow);
  flowRef.current = flow;
  const fit = useCallback(() => setTimeout(() => void flowRef.current.fitView({ maxZoom: 1, padding: 0.2 }), 50), []);
  const replace = useCallback(
    (next: WorkflowDoc) => {
      history.current = new History(next);
      setDoc(next);
      fit();
    },
    [fit],
  );

  useEffect(() => {
    const draft = loadDraft(draftKey);
    if (draft?.nodes.length) {
      replace(draft);
      setStatus("restored the unsaved draft");
    } else if (id) {
      api.get<SavedWorkflow>(`/api/workflows/${id}`).then((w) => replace(docOf(w)), (err: Error) => setError(err.message));
    }
  }, [id, draftKey, replace]);

  useEffect(() => saveDraft(draftKey, doc), [draftKey, doc]);

  useEffect(() => {
    if (!doc.nodes.length) {
      setIssues([]);
      return;
    }
    const timer = setTimeout(() => {
      api.post<Issues>("/api/workflows/validate", doc).then(
        (answer) => setIssues(answer.issues),
        (err: Error) => setError(err.message),
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [doc]);

  const nodes: FlowNode[] = useMemo(
    () =>
      doc.nodes.map((node) => ({
        id: node.id,
        type: "mf",
        position: node.position,
        selected: selected.has(node.id),
        measured: measured[node.id],
        data: { node, kind: kinds.get(node.kind), issues: issues.filter((i) => i.node === node.id).map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)) },
      })),
    [doc.nodes, kinds, issues, selected, measured],
  );
  const edges: Edge[] = useMemo(
    () => doc.edges.map((e) => ({ id: `${e.source}.${e.source_output}->${e.target}.${e.target_input}`, source: e.source, sourceHandle: e.source_output, target: e.target, targetHandle: e.target_input })),
    [doc.edges],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      let next = doc;
      const selection = new Set(selected);
      const sizes: Record<string, { width: number; height: number }> = {};
      for (const change of changes) {
        if (change.type === "dimensions" && change.dimensions) sizes[change.id] = change.dimensions;
        if (change.type === "position" && change.position) {
          const pos = change.position;
          next = { ...next, nodes: next.nodes.map((n) => (n.id === change.id ? { ...n, position: { x: Math.round(pos.x), y: Math.round(pos.y) } } : n)) };
        } else if (change.type === "select") {
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        }
      }
      if (next !== doc) setDoc(next);
      if (Object.keys(sizes).length) setMeasured((old) => ({ ...old, ...sizes }));
      setSelected(selection);
    },
    [doc, selected],
  );

  const toEdge = (c: Connection): WorkflowEdge => ({ source: c.source, source_output: c.sourceHandle ?? "", target: c.target, target_input: c.targetHandle ?? "" });
  const isValidConnection = useCallback(
    (c: Connection | Edge) => connectionProblem(toEdge(c as Connection), doc.nodes, doc.edges, kinds) === null,
    [doc, kinds],
  );
  const onConnect = useCallback(
    (c: Connection) => {
      const edge = toEdge(c);
      const problem = connectionProblem(edge, doc.nodes, doc.edges, kinds);
      if (problem) setStatus(`cannot connect: ${problem}`);
      else {
        setStatus(null);
        commit({ ...doc, edges: [...doc.edges, edge] });
      }
    },
    [doc, kinds, commit],
  );

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    const kind = kinds.get(event.dataTransfer.getData("application/medfusion-node"));
    if (!kind || !canMutate) return;
    const p = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    commit({ ...doc, nodes: [...doc.nodes, newNode(doc, kind, { x: Math.round(p.x), y: Math.round(p.y) })] });
  };

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const command = commandOf(event);
      if (!command || !canMutate) return;
      event.preventDefault();
      if (command === "undo") setDoc(history.current.undo());
      else if (command === "redo") setDoc(history.current.redo());
      else if (command === "delete" && selected.size) commit(removeNodes(doc, selected));
      else if (command === "copy" && selected.size) {
        clipboard.current = { ...doc, nodes: doc.nodes.filter((n) => selected.has(n.id)), edges: doc.edges.filter((e) => selected.has(e.source) && selected.has(e.target)) };
        setStatus(`copied ${selected.size} node(s)`);
      } else if (command === "paste" && clipboard.current) commit(pasteInto(doc, clipboard.current));
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [doc, selected, canMutate, commit]);

  const save = async (): Promise<string> => {
    const answer = id ? await api.put<SavedWorkflow>(`/api/workflows/${id}`, doc) : await api.post<SavedWorkflow>("/api/workflows", doc);
    const savedId = answer.id;
    clearDraft(draftKey);
    setStatus(`saved as workflow ${savedId}`);
    saved.reload();
    if (!id) navigate(`/workflows/${savedId}`, { replace: true });
    return savedId;
  };
  const run = async () => {
    const workflowId = await save();
    const execution = await api.post<Started>(`/api/workflows/${workflowId}/executions`);
    navigate(`/executions/${execution.id}`);
  };
  const guard = (action: () => Promise<unknown>) => () => {
    setError(null);
    action().catch((err: Error) => setError(err.message));
  };
  const loadTemplate = (name: string) =>
    guard(async () => {
      commit(docOf(await api.get<WorkflowDoc>(`/api/workflow-templates/${encodeURIComponent(name)}`)));
      fit();
      setStatus(`template ${name} loaded`);
    })();
  const importFile = (file: File | undefined) =>
    file &&
    guard(async () => {
      commit(parseDoc(await file.text()));
      fit();
      setStatus(`imported ${file.name}`);
    })();

  const chosen = doc.nodes.find((n) => selected.size === 1 && selected.has(n.id));
  const chosenKind = chosen && kinds.get(chosen.kind);

  return (
    <Page
      title="Workflow editor"
      actions={
        <>
          <Input aria-label="workflow name" value={doc.name} disabled={!canMutate} onChange={(e) => setDoc({ ...doc, name: e.target.value })} />
          <Select aria-label="templates" value="" onChange={(e) => e.target.value && loadTemplate(e.target.value)} disabled={!canMutate}>
            <option value="">Templates…</option>
            {(templates.data ?? []).map((name) => (
              <option key={name}>{name}</option>
            ))}
          </Select>
          <Select aria-label="open workflow" value="" onChange={(e) => e.target.value && navigate(`/workflows/${e.target.value}`)}>
            <option value="">Open…</option>
            {(saved.data ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </Select>
          <Button onClick={() => commit(emptyDoc())} disabled={!canMutate}>New</Button>
          <label className="mf-btn">
            Import
            <input type="file" accept=".medfusion,application/json" hidden disabled={!canMutate} onChange={(e) => importFile(e.target.files?.[0])} />
          </label>
          <Button onClick={() => downloadText(`${doc.name || "workflow"}.medfusion`, JSON.stringify(doc, null, 2))}>Export</Button>
          <ActionButton onClick={guard(save)}>Save</ActionButton>
          <ActionButton variant="primary" onClick={guard(run)} disabled={issues.length > 0 || !doc.nodes.length}>
            Run
          </ActionButton>
        </>
      }
    >
      <ErrorLine error={error ?? kindsAnswer.error} />
      {status && <p className="mf-muted" role="status">{status}</p>}
      <div className="mf-editor">
        <aside aria-label="palette">
          {[...kinds.values()].map((kind) => (
            <div
              key={kind.name}
              className="mf-palette-item"
              draggable={canMutate}
              data-testid={`palette-${kind.name}`}
              title={kind.summary}
              onDragStart={(e) => {
                e.dataTransfer.setData("application/medfusion-node", kind.name);
                e.dataTransfer.effectAllowed = "move";
              }}
            >
              <strong>{kind.name}</strong>
              <div className="mf-muted">{kind.summary}</div>
            </div>
          ))}
        </aside>
        <div className="mf-flow" onDragOver={(e) => e.preventDefault()} onDrop={onDrop} data-testid="canvas">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            onNodesChange={onNodesChange}
            onNodeDragStop={() => commit(doc)}
            onConnect={onConnect}
            isValidConnection={isValidConnection}
            onEdgesDelete={(gone) => commit({ ...doc, edges: doc.edges.filter((e) => !gone.some((g) => g.source === e.source && g.target === e.target && g.targetHandle === e.target_input)) })}
            nodesDraggable={canMutate}
            nodesConnectable={canMutate}
            deleteKeyCode={null}
            defaultViewport={{ x: 0, y: 0, zoom: 1 }}
          >
            <Background />
            <Controls />
          </ReactFlow>
        </div>
        <aside aria-label="parameters">
          <Card title={chosen ? `${chosen.id} (${chosen.kind})` : "Parameters"}>
            {chosen && chosenKind ? (
              <>
                <SchemaForm
                  schema={chosenKind.params_schema}
                  value={chosen.params}
                  disabled={!canMutate}
                  onChange={(params) => commit({ ...doc, nodes: doc.nodes.map((n) => (n.id === chosen.id ? { ...n, params } : n)) })}
                />
                {issues.filter((i) => i.node === chosen.id).map((i) => (
                  <ErrorLine key={`${i.field}:${i.message}`} error={i.field ? `${i.field}: ${i.message}` : i.message} />
                ))}
              </>
            ) : (
              <p className="mf-muted">Select one node to edit its parameters. Delete, Ctrl+Z / Ctrl+Shift+Z, Ctrl+C / Ctrl+V work on the canvas.</p>
            )}
          </Card>
          {issues.filter((i) => !i.node).map((i) => (
            <ErrorLine key={i.message} error={i.message} />
          ))}
          <Field label="Nodes / edges">
            <span data-testid="counts">
              {doc.nodes.length} / {doc.edges.length}
            </span>
          </Field>
        </aside>
      </div>
    </Page>
  );
}

/** The editor page (the canvas needs its React Flow provider). */
export default function EditorPage() {
  return (
    <ReactFlowProvider>
      <Editor />
    </ReactFlowProvider>
  );
}
