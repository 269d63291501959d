"""The Verb (Data 2.4.3). The voided verb (Data 2.3.2) is `statements.walk.VOIDED`."""

from __future__ import annotations

from statements.base import Strict, StrictSchema
from statements.values import check_iri, check_language_map


class VerbSchema(StrictSchema):
    """An IRI and an optional display language map."""

    id = Strict(check_iri, required=True)
    display = Strict(check_language_map)
