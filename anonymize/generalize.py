"""The quasi-identifier rule of exports: no combination of dimension values a partner
receives may describe fewer than `k` learners of the export.

Dimensions (region, age band, gender...) are harmless one by one and identifying together:
"the one 14-year-old girl in this district". Before anything is sent, one pass over the
export counts the distinct learners of each combination of the agreement's dimension values
(in the agreement's order, a value absent from a statement counting as a value of its own);
then each combination gets how many of its leading values are published:

1. a combination of at least `k` learners is published whole;
2. the rare ones (fewer than `k`) are generalized by withholding values from the last
   dimension backwards: for j = n-1 down to 1, the rare combinations left that share their
   first j values are published as those j values (the rest withheld) when together they
   hold at least `k` learners;
3. whatever is left is published with every dimension withheld.

So every published tuple of values (withheld values as "*") is the tuple of at least `k`
distinct learners in the export, except the one with everything withheld, which says
nothing. The mapping depends on the combination only, so all statements of a combination
look alike, and it is the same each time the same export is read (a resumed download
publishes what the first part did). Withholding goes from the last dimension: list the
dimensions an agreement needs most first.

Memory stays bounded however large the export: a combination keeps at most `k` learners
(past that it only needs to know that it has enough), so the pass holds at most `k` small
keys per distinct combination, whatever the number of statements or learners.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

__all__ = ["Generalization", "GroupCounter"]

Combination = tuple[Hashable, ...]


class GroupCounter:
    """Counts the distinct learners of each combination, up to `k`."""

    __slots__ = ("_groups", "k", "width")

    def __init__(self, k: int, width: int) -> None:
        if k < 1 or width < 0:
            raise ValueError("k must be at least 1 and width at least 0")
        self.k = k
        self.width = width
        # Each combination's learners, or None once it has `k` of them.
        self._groups: dict[Combination, set[Hashable] | None] = {}

    def add(self, combination: Combination, learners: Iterable[Hashable]) -> None:
        """Count `learners` (their stable keys) under `combination` (`width` values)."""
        if len(combination) != self.width:
            raise ValueError(f"a combination has {self.width} values")
        groups = self._groups
        if combination in groups:
            seen = groups[combination]
            if seen is None:
                return
        else:
            seen = groups[combination] = set()
        seen.update(learners)
        if len(seen) >= self.k:
            groups[combination] = None

    def generalize(self) -> Generalization:
        """How much of each counted combination may be published (the module's rule)."""
        k, width = self.k, self.width
        kept: dict[Combination, int] = {}
        rare: dict[Combination, set[Hashable]] = {}
        for combination, seen in self._groups.items():
            if seen is None:
                kept[combination] = width
            else:
                rare[combination] = seen
        for level in range(width - 1, 0, -1):
            prefixes: dict[Combination, list[Combination]] = {}
            for combination in rare:
                prefixes.setdefault(combination[:level], []).append(combination)
            for members in prefixes.values():
                learners: set[Hashable] = set()
                for combination in members:
                    learners |= rare[combination]
                if len(learners) >= k:
                    for combination in members:
                        kept[combination] = level
                        del rare[combination]
        for combination in rare:
            kept[combination] = 0
        return Generalization(kept)


class Generalization:
    """The published length of each combination counted (0, everything withheld, for one
    that was not: a statement stored after the count, which nothing vouches for)."""

    __slots__ = ("_kept",)

    def __init__(self, kept: dict[Combination, int]) -> None:
        self._kept = kept

    def kept(self, combination: Combination) -> int:
        """How many leading values of `combination` are published."""
        return self._kept.get(combination, 0)
