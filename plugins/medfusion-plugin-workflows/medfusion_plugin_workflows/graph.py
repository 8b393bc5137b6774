"""Graph helpers of the engine and the validation: cycles, topological order, descendants."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def _children(edges: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for source, target in edges:
        children.setdefault(source, []).append(target)
    return children


def find_cycle(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """The nodes of one cycle in order (empty when the graph is acyclic)."""
    children = _children(edges)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for child in children.get(node, []):
            if state.get(child) == 1:
                return path[path.index(child) :]
            if child not in state:
                found = visit(child)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return []

    for node in nodes:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def topological_order(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """``nodes`` ordered so that every edge goes forward (ties keep the given order)."""
    edges = list(edges)
    waiting = {node: sum(1 for _, target in edges if target == node) for node in nodes}
    children = _children(edges)
    order: list[str] = []
    ready = [node for node in nodes if waiting[node] == 0]
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in children.get(node, []):
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order


def descendants(node: str, edges: Iterable[tuple[str, str]]) -> set[str]:
    """Every node reachable from ``node`` (not ``node`` itself)."""
    children = _children(edges)
    seen: set[str] = set()
    stack = list(children.get(node, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children.get(current, []))
    return seen
