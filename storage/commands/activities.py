"""Canonical Activity definitions (Data 2.4.4.1, Communication 2.5 and 4.2 `define`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.commands.retry import retrying
from storage.protocol import Storage, Transaction
from storage.records import ActivityDefinitions

# Language maps are merged per tag; the interaction properties only make sense together
# (Data 2.4.4.1 Interaction Activities).
_LANGUAGE_MAPS = frozenset({"name", "description"})
_INTERACTION_PROPERTIES = frozenset(
    {"interactionType", "correctResponsesPattern", "choices", "scale", "source", "target",
     "steps"}
)


def merge_definition(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical Activity definition once `new` arrives from a writer allowed to define
    it (Data 2.4.4.1 LRS Requirements; Communication 4.2 `define`).

    `name` and `description` are merged per language tag and `extensions` per key, the newer
    value winning; any other property is replaced by the newer value, the interaction
    properties (`interactionType`, `correctResponsesPattern`, components) as one group, so a
    new interaction type never keeps the components of the old one; what `new` lacks is
    kept. Merging the same definition twice changes nothing more than merging it once.
    """
    merged = dict(current)
    if not _INTERACTION_PROPERTIES.isdisjoint(new):
        for key in _INTERACTION_PROPERTIES:
            merged.pop(key, None)
    for key, value in new.items():
        old = merged.get(key)
        if key in _LANGUAGE_MAPS and isinstance(old, dict):
            # RFC 5646 2.1.1: tags are case-insensitive; the newer spelling replaces the old.
            replaced = {tag.lower() for tag in value}
            merged[key] = {
                **{tag: text for tag, text in old.items() if tag.lower() not in replaced},
                **value,
            }
        elif key == "extensions" and isinstance(old, dict):
            merged[key] = {**old, **value}
        else:
            merged[key] = value
    return merged


def merge_definitions(
    current: Mapping[str, Any], definitions: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """`current` with each of `definitions` merged in order (`merge_definition`)."""
    merged = dict(current)
    for definition in definitions:
        merged = merge_definition(merged, definition)
    return merged


def merge_activities(tx: Transaction, tenant: str, activities: ActivityDefinitions) -> None:
    """Inside `tx`: record every id and merge its definitions into the canonical one. One
    read of the defined activities, then writes of only what changes."""
    defined = [activity_id for activity_id, definitions in activities.items() if definitions]
    if defined:
        current = tx.get_activities(tenant, defined)
        for activity_id in defined:
            before = current.get(activity_id)
            after = merge_definitions(before or {}, activities[activity_id])
            if before is None or after != before:
                tx.write_activity(tenant, activity_id, after, replaces=before)
    recorded = [activity_id for activity_id, definitions in activities.items() if not definitions]
    if recorded:
        tx.record_activities(tenant, recorded)


def put_activities(store: Storage, tenant: str, activities: ActivityDefinitions) -> None:
    """Record every id and merge its definitions, atomically per call: concurrent writers
    lose no merge (a lost compare-and-set reads again and merges again)."""
    if activities:
        retrying(
            store, lambda tx: merge_activities(tx, tenant, activities), "store activities"
        )
