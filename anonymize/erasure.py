"""Taking an erased learner out of the Groups of another learner's statement.

An erasure deletes every statement in which the learner stands, except one that names them
only as a member of a Group (a team, a class, a Group actor or object, a 2.0 context group,
also inside a SubStatement): that statement is another learner's record too, so it is kept
with the learner's member entries removed from every Group, and the originals sealed for it
in the vault lose the learner's entries (the others' paths follow their members' new
places). Whether an agent is the erased learner is the caller's predicate, since only the
caller knows every key the learner was stored under.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from statements.walk import IFI_FIELDS, agent_position_tuples, map_agents

__all__ = ["Withdrawn", "withdraw_member"]


class Withdrawn(NamedTuple):
    """A statement without the learner, and its originals re-keyed to match."""

    statement: dict[str, Any]
    originals: dict[str, Any]


def withdraw_member(
    statement: Mapping[str, Any],
    originals: Mapping[str, Any],
    erased: Callable[[Mapping[str, Any]], bool],
) -> Withdrawn | None:
    """The statement with every Group member for which `erased` holds removed, and its
    `originals` (path -> original agent, `Pseudonymized.originals`) with theirs dropped and
    the others' paths renumbered; None when the learner stands anywhere but as a Group
    member (the statement is theirs: it is deleted, not edited), or when a Group without an
    identifier would be left without members (it would no longer be valid xAPI, Data
    2.4.2.2). The `authority` is a credential, never an erased learner."""
    for _, node, _, _, member in agent_position_tuples(statement, authority=False):
        if not member and erased(node):
            return None
    moved: dict[str, str | None] = {}  # old member path -> new one, None when removed
    emptied = False

    def replace(node: Any, path: str) -> Any:
        nonlocal emptied
        members = node.get("member") if isinstance(node, dict) else None
        if not isinstance(members, list):
            return node
        kept = [(i, m) for i, m in enumerate(members) if not (isinstance(m, dict) and erased(m))]
        if len(kept) == len(members):
            return node
        for index in range(len(members)):
            moved[f"{path}.member[{index}]"] = None
        for new, (old, _) in enumerate(kept):
            moved[f"{path}.member[{old}]"] = f"{path}.member[{new}]"
        out = {key: value for key, value in node.items() if key != "member"}
        if kept:
            out["member"] = [m for _, m in kept]
        elif not any(field in node for field in IFI_FIELDS):
            emptied = True
        return out

    edited = map_agents(statement, replace)
    if emptied:
        return None
    renamed: dict[str, Any] = {}
    for path, original in originals.items():
        if path not in moved:
            renamed[path] = original
        elif (target := moved[path]) is not None:
            renamed[target] = original
    return Withdrawn(edited, renamed)
