"""Checks of a workflow before it runs: unknown node kinds, duplicate ids, edges naming unknown
nodes or ports, type mismatches on edges, cycles, missing required inputs and bad parameters.

Each problem is a :class:`WorkflowIssue` whose ``str()`` is one line naming the node and field.
"""

from __future__ import annotations

from collections import Counter

import attrs

from medfusion_core.kinds.node import MANY, Node, accepts, param_errors
from medfusion_plugin_workflows.errors import WorkflowError
from medfusion_plugin_workflows.format import Workflow
from medfusion_plugin_workflows.graph import find_cycle


@attrs.frozen
class WorkflowIssue:
    """One problem: the node id (``""`` for the workflow itself), the field and what is wrong."""

    node: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"node {self.node!r}" if self.node else "workflow"
        return f"{where}, {self.field}: {self.message}"

    def to_json(self) -> dict[str, str]:
        """``{"node", "field", "message"}``."""
        return attrs.asdict(self)


def _load_nodes(workflow: Workflow, issues: list[WorkflowIssue]) -> dict[str, Node]:
    from medfusion_plugin_workflows.catalog import load_node

    loaded = {}
    for node in workflow.nodes:
        try:
            loaded[node.id] = load_node(node.kind)
        except WorkflowError as exc:
            issues.append(WorkflowIssue(node.id, "kind", str(exc)))
    return loaded


def _edge_issues(workflow: Workflow, nodes: dict[str, Node]) -> list[WorkflowIssue]:
    issues = []
    ids = {node.id for node in workflow.nodes}
    fed: Counter[tuple[str, str]] = Counter()
    for edge in workflow.edges:
        where = f"{edge.source}.{edge.source_output} -> {edge.target}.{edge.target_input}"
        for end in (edge.source, edge.target):
            if end not in ids:
                issues.append(WorkflowIssue(end, "edges", f"edge {where} names no node of this workflow"))
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if source is None or target is None:
            continue
        out_type = source.outputs.get(edge.source_output)
        in_type = target.inputs.get(edge.target_input)
        if out_type is None:
            known = ", ".join(source.outputs) or "none"
            issues.append(
                WorkflowIssue(edge.source, f"outputs.{edge.source_output}", f"no such output (has {known})")
            )
        if in_type is None:
            known = ", ".join(target.inputs) or "none"
            issues.append(
                WorkflowIssue(edge.target, f"inputs.{edge.target_input}", f"no such input (has {known})")
            )
        if out_type is None or in_type is None:
            continue
        if not accepts(in_type, out_type):
            issues.append(
                WorkflowIssue(
                    edge.target,
                    f"inputs.{edge.target_input}",
                    f"expects {in_type} but {edge.source}.{edge.source_output} gives {out_type}",
                )
            )
        fed[(edge.target, edge.target_input)] += 1
        if fed[(edge.target, edge.target_input)] == 2 and not in_type.endswith(MANY):
            issues.append(
                WorkflowIssue(edge.target, f"inputs.{edge.target_input}", "takes one edge, has several")
            )
    for node_id, node in nodes.items():
        for name in node.inputs:
            if name not in node.optional and not fed[(node_id, name)]:
                issues.append(WorkflowIssue(node_id, f"inputs.{name}", "required input is not connected"))
    return issues


def validate(workflow: Workflow) -> list[WorkflowIssue]:
    """Every problem of ``workflow`` (empty when it can run)."""
    issues = [
        WorkflowIssue(node_id, "id", "duplicate node id")
        for node_id, count in Counter(node.id for node in workflow.nodes).items()
        if count > 1
    ]
    nodes = _load_nodes(workflow, issues)
    issues += _edge_issues(workflow, nodes)
    cycle = find_cycle([node.id for node in workflow.nodes], [(e.source, e.target) for e in workflow.edges])
    if cycle:
        issues.append(WorkflowIssue(cycle[0], "edges", "cycle: " + " -> ".join([*cycle, cycle[0]])))
    for node in workflow.nodes:
        if node.id in nodes:
            issues += [
                WorkflowIssue(node.id, f"params.{field}", message)
                for field, message in param_errors(nodes[node.id].params, node.params)
            ]
    return issues


def check(workflow: Workflow) -> None:
    """Raise a one-line :class:`~.errors.WorkflowError` on the first problem (and how many more)."""
    issues = validate(workflow)
    if issues:
        more = f" (and {len(issues) - 1} more; run medfusion workflow validate)" if len(issues) > 1 else ""
        raise WorkflowError(f"{workflow.name}: {issues[0]}{more}")
