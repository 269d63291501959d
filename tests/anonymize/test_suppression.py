"""Cell suppression (`anonymize.suppression`): random tables, and exact linear algebra over
the rationals checking that no hidden count can be worked out from the published cells and
the totals (each row's, column's and the table's; a total over one cell shares that cell's
fate, as `protect` documents)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from anonymize.suppression import hidden_cells, protect


def grid(counts: dict) -> dict:
    """The table with its absent cells as the zeros they are."""
    rows = {r for r, _ in counts}
    columns = {c for _, c in counts}
    return {(r, c): counts.get((r, c), 0) for r in rows for c in columns}


def determined(counts: dict, hidden: set) -> set:
    """The hidden cells whose value follows from the published cells and totals (absent
    cells are zeros, published unless hidden)."""
    counts = grid(counts)
    rows = sorted({r for r, _ in counts})
    columns = sorted({c for _, c in counts})
    row_cells = {r: [cell for cell in counts if cell[0] == r] for r in rows}
    column_cells = {c: [cell for cell in counts if cell[1] == c] for c in columns}

    def total_known(cells: list) -> bool:
        return len(cells) > 1 or cells[0] not in hidden

    # Unknowns: hidden cells, then the totals that are not published.
    unknowns = sorted(hidden, key=repr)
    unknowns += [("row total", r) for r in rows if not total_known(row_cells[r])]
    unknowns += [("column total", c) for c in columns if not total_known(column_cells[c])]
    if not total_known(list(counts)):
        unknowns.append(("grand total",))
    index = {name: i for i, name in enumerate(unknowns)}

    def equation(terms: list[tuple[object, int]]) -> list[Fraction]:
        row = [Fraction(0)] * len(unknowns)
        for name, sign in terms:
            if name in index:
                row[index[name]] += sign
        return row

    equations = []
    for r in rows:
        equations.append(equation([(cell, 1) for cell in row_cells[r]] + [(("row total", r), -1)]))
    for c in columns:
        equations.append(
            equation([(cell, 1) for cell in column_cells[c]] + [(("column total", c), -1)])
        )
    equations.append(equation([(("row total", r), 1) for r in rows] + [(("grand total",), -1)]))
    equations.append(
        equation([(("column total", c), 1) for c in columns] + [(("grand total",), -1)])
    )
    base = rank(equations)
    found = set()
    for cell in hidden:
        unit = [Fraction(0)] * len(unknowns)
        unit[index[cell]] = Fraction(1)
        if rank([*equations, unit]) == base:
            found.add(cell)
    return found


def rank(matrix: list[list[Fraction]]) -> int:
    rows = [list(row) for row in matrix]
    count = 0
    width = len(rows[0]) if rows else 0
    for column in range(width):
        pivot = next((i for i in range(count, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[count], rows[pivot] = rows[pivot], rows[count]
        for i in range(len(rows)):
            if i != count and rows[i][column] != 0:
                factor = rows[i][column] / rows[count][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[count], strict=True)]
        count += 1
    return count


tables = st.integers(1, 6).flatmap(
    lambda height: st.integers(1, 6).flatmap(
        lambda width: st.dictionaries(
            st.tuples(st.integers(0, height - 1), st.integers(0, width - 1)),
            st.integers(0, 40),
            min_size=1,
        )
    )
)


@settings(max_examples=400, deadline=None)
@given(tables, st.integers(2, 25))
def test_no_hidden_count_follows_from_what_is_published(counts, k):
    hidden = hidden_cells(counts, counts, k)
    assert {cell for cell, value in counts.items() if 0 < value < k} <= hidden
    assert hidden <= set(grid(counts))
    assert determined(counts, hidden) == set()


@settings(max_examples=200, deadline=None)
@given(tables, st.data())
def test_any_primary_choice_is_protected(counts, data):
    primary = data.draw(st.sets(st.sampled_from(sorted(counts))))
    hidden = protect(counts, primary)
    assert set(primary) <= hidden <= set(grid(counts))
    assert determined(counts, hidden) == set()


def test_a_lone_cell_of_a_column_is_protected_through_the_zeros_beside_it():
    """Column 2 holds one cell: the grand total less the other columns' totals would give
    it, unless a zero of its column (absent, so published as 0) is hidden with it."""
    counts = {(0, 0): 34, (0, 2): 1, (0, 3): 13, (1, 1): 29, (1, 3): 31, (2, 0): 26}
    hidden = hidden_cells(counts, counts, 19)
    assert {(0, 2), (0, 3)} <= hidden
    assert hidden - set(counts)  # an absent zero went too
    assert determined(counts, hidden) == set()


def test_a_lone_small_cell_in_a_row_takes_the_smallest_neighbour_with_it():
    counts = {("a", 1): 3, ("a", 2): 50, ("a", 3): 20, ("b", 1): 40, ("b", 2): 45,
              ("b", 3): 30}
    hidden = hidden_cells(counts, counts, 10)
    # The row total minus the published cells would give ("a", 1): a second cell of row a
    # and of column 1 go, and one more to close the rectangle.
    assert hidden == {("a", 1), ("a", 3), ("b", 1), ("b", 3)}
    assert determined(counts, hidden) == set()


def test_nothing_small_hides_nothing():
    counts = {("a", 1): 12, ("b", 1): 30}
    assert hidden_cells(counts, counts, 10) == set()


def test_a_single_column_hides_a_pair():
    # A column of module counts with the course total published: two must go.
    counts = {("m1", "n"): 4, ("m2", "n"): 15, ("m3", "n"): 60}
    hidden = hidden_cells(counts, counts, 10)
    assert hidden == {("m1", "n"), ("m2", "n")}


def test_the_derivation_this_prevents():
    """Without complementary suppression the row total gives the hidden cell away."""
    counts = {("a", 1): 3, ("a", 2): 50}
    primary_only = {("a", 1)}
    assert determined(counts, primary_only) == {("a", 1)}
    assert determined(counts, hidden_cells(counts, counts, 10)) == set()
