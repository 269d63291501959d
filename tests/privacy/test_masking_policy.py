"""Masking from configuration is applied before storage (`LRS_MASK_ALLOWED_EXTENSIONS`,
`LRS_MASK_DROP_FIELDS`), with or without pseudonymization. (Signed statements, which this
module refused while pseudonymizing, are test_signed_statements.py's.)"""

from __future__ import annotations

import copy

import pytest
from people import simple
from scan import find_identifiers, store_bytes

from tests.lrs.lrs_testing import Api, add_credential

KEPT = "http://example.com/ext/kept"
SECRET = "http://example.com/ext/home-town"


def _rich() -> dict:
    return simple(
        object={"objectType": "Activity", "id": "http://example.com/quiz",
                "definition": {"extensions": {KEPT: 1, SECRET: "Smallville-9f2c"}}},
        result={"response": "my name is Zoe and I live in Smallville-9f2c", "success": True,
                "extensions": {SECRET: "Smallville-9f2c"}},
        context={"extensions": {KEPT: "k", SECRET: "Smallville-9f2c"}},
    )


@pytest.mark.parametrize("pseudonymize", [True, False])
def test_masking_policy_applies_before_storage(make_app, storage_uri, pseudonymize):
    app = make_app(pseudonymize=pseudonymize, mask_allowed_extensions=[KEPT],
                   mask_drop_fields=["result.response"])
    api = Api(app.test_client(), add_credential(app, ["all", "reidentify"])[0])
    sent = _rich()
    assert api.post_statements(copy.deepcopy(sent)).status_code == 200
    got = api.get_statements(statementId=sent["id"]).json
    assert got["result"] == {"success": True}
    assert got["context"] == {"extensions": {KEPT: "k"}}
    assert got["object"]["definition"] == {"extensions": {KEPT: 1}}
    assert find_identifiers(store_bytes(storage_uri), ["Smallville-9f2c"]) == []
    # Re-sending the same statement compares the masked form: still a no-op.
    assert api.post_statements(sent).status_code == 200


def test_default_masks_nothing(writer):
    sent = _rich()
    writer.post_statements(sent)
    got = writer.get_statements(statementId=sent["id"]).json
    assert got["result"] == sent["result"]
    assert got["context"] == sent["context"]
