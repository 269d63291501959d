"""Activities (Communication 2.5) and the canonical definitions behind `format=canonical`
(Communication 2.1.3).

The canonical definition of an Activity is built at ingest (`storage.commands.activities`):
definitions sent by a credential with the `define` or `all` scope are merged into it; without
one the Activity's id is recorded and its definition left as it is (Communication 4.2).
Definitions are metadata about content, not about learners (the masking policy has already
dropped extensions it does not allow), so `statements/read/mine` reads every definition too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lrs.service.errors import invalid
from lrs.service.principal import ACTIVITY_READ_SCOPES, Principal
from statements import IRI_ERROR, activity_position_tuples, is_iri, map_activities
from storage import Storage


def get_activity(store: Storage, principal: Principal, activity_id: str) -> dict[str, Any]:
    """The Activity object with the canonical definition the LRS holds; an Activity object
    without one for an id the LRS does not know or holds no definition for (Communication
    2.5: "SHOULD* still return an Activity Object")."""
    principal.require(ACTIVITY_READ_SCOPES)
    if not is_iri(activity_id):
        raise invalid(f"activityId {IRI_ERROR}", field="activityId")
    found = store.get_activities(principal.tenant, [activity_id])
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if found.get(activity_id):
        activity["definition"] = found[activity_id]
    return activity


def canonical_definitions(
    store: Storage, tenant: str, statements: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The canonical definitions of every Activity in `statements`, one read for all;
    activities without one are left out."""
    ids = {node["id"] for s in statements for _, node, *_ in activity_position_tuples(s)}
    if not ids:
        return {}
    found = store.get_activities(tenant, sorted(ids))
    return {activity_id: d for activity_id, d in found.items() if d}


def with_canonical_definitions(
    statement: dict[str, Any], definitions: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """The statement with each Activity's definition replaced by its canonical one
    (Communication 2.1.3 `format=canonical`), before language filtering. An Activity the
    LRS holds no definition for keeps the one it was sent with. Returns a new statement;
    unchanged parts are shared with the input."""

    def canonical(activity: dict[str, Any], path: str) -> dict[str, Any]:
        definition = definitions.get(activity["id"])
        return activity if definition is None else {**activity, "definition": definition}

    return map_activities(statement, canonical)
