"""Cell suppression: which cells of a table of counts may not be published so that no count
of fewer than k learners is shown or can be worked out from what is.

A table is cells keyed by (row, column); an absent cell is a published zero (no learner),
and may be hidden like any other, so the cells returned can include absent ones (a caller
shows them as suppressed). Every total is taken as published (another report may show
it): each row's, each column's and the whole table's, except a total over a single cell,
which is that cell and so shares its fate. Primary suppression hides the cells below k
(but not zeros, which single out nobody). Subtracting published cells from a
published total then gives the sum of the hidden cells of that line, and combining lines
gives more: a hidden cell can be worked out exactly when it is a bridge of the graph whose
nodes are the table's lines (its rows, its columns, the row of column totals and the column
of row totals) and whose edges are the unknown cells (hidden cells and the totals hidden
with them): summing the equations of the lines on one side of a bridge leaves its value
alone. So complementary suppression hides further cells until no hidden cell is a bridge,
that is until every one lies on a cycle of unknowns: first, in every line holding a single
hidden cell, the smallest published one; then, for a bridge left, the published cells of
the cheapest path closing a cycle through it (Dijkstra, a cell's cost its value).

Pure functions; `tests/anonymize/test_suppression.py` checks with exact linear algebra on
random tables that no hidden cell is determined by the published cells and totals.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

__all__ = ["hidden_cells", "protect"]

Cell = TypeVar("Cell", bound=tuple[Hashable, Hashable])

_TOTAL = ("total",)  # the line of totals: no row or column of a table is this tuple


def hidden_cells(counts: Mapping[Cell, int], bases: Mapping[Cell, int], k: int) -> set[Cell]:
    """The cells to hide in a table of `counts`: those whose `bases` (distinct learners
    behind them) are below `k` but not zero (a zero singles out nobody), and the
    complementary ones that `protect` adds."""
    return protect(counts, [cell for cell in counts if 0 < bases[cell] < k])


def protect(values: Mapping[Cell, float], primary: Iterable[Cell]) -> set[Cell]:
    """`primary` and the further cells of `values` (by preference the smallest) to hide
    so that no hidden cell can be worked out from the others and the totals (module
    docstring)."""
    hidden = {cell for cell in primary if cell in values}
    if not hidden:
        return set()
    table: _Table[Cell] = _Table(_grid(values), hidden)
    table.fill_lines()
    while True:
        bridges = table.bridges()
        if not bridges:
            return table.hidden
        before = len(table.hidden)
        for bridge in bridges:
            table.close_cycle(bridge)
        if len(table.hidden) == before:  # cannot happen in a whole grid; a safe end
            return set(table.values)


def _grid(values: Mapping[Cell, float]) -> dict[Cell, float]:
    """The table with its absent cells as zeros: in a whole grid no line of several lines'
    table holds a single cell, whose total would give it away through the grand total."""
    rows = dict.fromkeys(cell[0] for cell in values)
    columns = dict.fromkeys(cell[1] for cell in values)
    grid: dict[Cell, float] = {
        (row, column): 0  # type: ignore[misc]
        for row in rows
        for column in columns
    }
    grid.update(values)
    return grid


class _Table(Generic[Cell]):
    """A table's lines and cells as a graph: node ("r", row) and ("c", column) for each
    line, ("r", _TOTAL) the line of column totals, ("c", _TOTAL) the column of row totals;
    each cell an edge between its row and its column, each total an edge between its line
    and the other line of totals."""

    def __init__(self, values: dict[Cell, float], hidden: set[Cell]) -> None:
        self.values = values
        self.hidden: set[Cell] = set(hidden)
        self.rows: dict[Hashable, list[Cell]] = defaultdict(list)
        self.columns: dict[Hashable, list[Cell]] = defaultdict(list)
        for cell in values:
            self.rows[cell[0]].append(cell)
            self.columns[cell[1]].append(cell)

    def fill_lines(self) -> None:
        """Hide the smallest published cell of each line holding one hidden cell, until
        none does (a line of one cell is its own total: nothing to subtract)."""
        # Hidden cells per line (0 rows, 1 columns), kept as cells are hidden: only a line
        # holding one is looked into.
        inside: list[dict[Hashable, int]] = [defaultdict(int), defaultdict(int)]
        for cell in self.hidden:
            inside[0][cell[0]] += 1
            inside[1][cell[1]] += 1
        changed = True
        while changed:
            changed = False
            for side, lines in enumerate((self.rows, self.columns)):
                for name, line in lines.items():
                    if len(line) < 2 or inside[side][name] != 1:
                        continue
                    chosen = self._smallest([cell for cell in line if cell not in self.hidden])
                    self.hidden.add(chosen)
                    inside[0][chosen[0]] += 1
                    inside[1][chosen[1]] += 1
                    changed = True

    def _smallest(self, cells: list[Cell]) -> Cell:
        """The cell of least value, ties broken by its repr (the same cell on every run),
        which only the tied cells have worked out."""
        values = self.values
        low = min(values[cell] for cell in cells)
        tied = [cell for cell in cells if values[cell] == low]
        return tied[0] if len(tied) == 1 else min(tied, key=repr)

    # -- the graph ----------------------------------------------------------------------

    def _edges(self) -> list[tuple[tuple[str, Hashable], tuple[str, Hashable], Cell, bool]]:
        """Every edge: (node, node, the cell it stands for or is tied to, unknown). A
        total over one cell is tied to that cell; other totals are published (not edges
        a path may use)."""
        edges = [(("r", c[0]), ("c", c[1]), c, c in self.hidden) for c in self.values]
        for row, line in self.rows.items():
            if len(line) == 1:
                edges.append((("r", row), ("c", _TOTAL), line[0], line[0] in self.hidden))
        for column, line in self.columns.items():
            if len(line) == 1:
                edges.append((("r", _TOTAL), ("c", column), line[0], line[0] in self.hidden))
        if len(self.values) == 1:
            [only] = self.values
            edges.append((("r", _TOTAL), ("c", _TOTAL), only, only in self.hidden))
        return edges

    def bridges(self) -> list[tuple[tuple[str, Hashable], tuple[str, Hashable]]]:
        """The unknown edges standing for hidden cells that no cycle of unknowns holds."""
        adjacency: dict[tuple[str, Hashable], list[tuple[tuple[str, Hashable], int]]] = (
            defaultdict(list)
        )
        unknown = [(a, b, cell) for a, b, cell, dark in self._edges() if dark]
        for index, (a, b, _) in enumerate(unknown):
            adjacency[a].append((b, index))
            adjacency[b].append((a, index))
        found = _bridge_edges(adjacency)
        return [(unknown[i][0], unknown[i][1]) for i in sorted(found)]

    def close_cycle(self, bridge: tuple[tuple[str, Hashable], tuple[str, Hashable]]) -> None:
        """Hide the published cells of the cheapest path between the bridge's ends that
        avoids it; with none (cannot happen in a table of one line or more, kept as a
        safe end), every cell of its row and column."""
        start, goal = bridge
        graph: dict[tuple[str, Hashable], list[tuple[tuple[str, Hashable], Cell]]] = (
            defaultdict(list)
        )
        for a, b, cell, _ in self._edges():
            if {a, b} == {start, goal}:
                continue
            graph[a].append((b, cell))
            graph[b].append((a, cell))
        best: dict[tuple[str, Hashable], float] = {start: 0.0}
        came: dict[tuple[str, Hashable], tuple[tuple[str, Hashable], Cell]] = {}
        queue: list[tuple[float, str, tuple[str, Hashable]]] = [(0.0, repr(start), start)]
        while queue:
            cost, _, node = heapq.heappop(queue)
            if node == goal:
                break
            if cost > best.get(node, float("inf")):
                continue
            for neighbour, cell in graph[node]:
                step = 0.0 if cell in self.hidden else float(self.values[cell]) + 1.0
                if cost + step < best.get(neighbour, float("inf")):
                    best[neighbour] = cost + step
                    came[neighbour] = (node, cell)
                    heapq.heappush(queue, (cost + step, repr(neighbour), neighbour))
        if goal not in came:
            row, column = start[1], goal[1]
            self.hidden.update(self.rows.get(row, ()))
            self.hidden.update(self.columns.get(column, ()))
            return
        node = goal
        while node != start:
            node, cell = came[node]
            self.hidden.add(cell)


def _bridge_edges(
    adjacency: Mapping[tuple[str, Hashable], list[tuple[tuple[str, Hashable], int]]],
) -> set[int]:
    """The bridges of an undirected graph (Tarjan's low-link, iterative), by edge index."""
    order: dict[tuple[str, Hashable], int] = {}
    low: dict[tuple[str, Hashable], int] = {}
    bridges: set[int] = set()
    for root in adjacency:
        if root in order:
            continue
        order[root] = low[root] = len(order)
        stack = [(root, -1, iter(adjacency[root]))]
        while stack:
            node, via, edges = stack[-1]
            for neighbour, edge in edges:
                if edge == via:
                    continue
                if neighbour in order:
                    low[node] = min(low[node], order[neighbour])
                else:
                    order[neighbour] = low[neighbour] = len(order)
                    stack.append((neighbour, edge, iter(adjacency[neighbour])))
                    break
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        bridges.add(via)
    return bridges
