"""Attachment metadata (Data 2.4.11)."""

from __future__ import annotations

from statements.base import Strict, StrictSchema
from statements.values import (
    check_iri,
    check_irl,
    check_language_map,
    check_length,
    check_media_type,
    check_sha2,
)

SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"


class AttachmentSchema(StrictSchema):
    """The metadata a statement carries for each attachment (its data travels apart)."""

    usage_type = Strict(check_iri, required=True, data_key="usageType")
    display = Strict(check_language_map, required=True)
    description = Strict(check_language_map)
    content_type = Strict(check_media_type, required=True, data_key="contentType")
    length = Strict(check_length, required=True)
    sha2 = Strict(check_sha2, required=True)
    file_url = Strict(check_irl, data_key="fileUrl")
