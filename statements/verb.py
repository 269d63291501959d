"""The Verb (Data 2.4.3)."""

from __future__ import annotations

from statements.base import Strict, StrictSchema
from statements.formats import check_iri, check_language_map

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


class VerbSchema(StrictSchema):
    """An IRI and an optional display language map."""

    id = Strict(check_iri, required=True)
    display = Strict(check_language_map)
