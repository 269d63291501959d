"""Learners, teachers and groups with distinctive identifiers, and statements filling every
agent position with them, for the privacy tests. `IDENTIFIERS` is everything that must never
be found in a store, a log or a response a non-`reidentify` reader gets."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from typing import Any

ZOE_MBOX = "mailto:zoe.kid.4f1c@example.org"
SAM_MBOX = "mailto:sam.kid.8e2a@example.org"  # sent only as mbox_sha1sum
SAM_SHA1 = hashlib.sha1(SAM_MBOX.encode()).hexdigest()
LIA_OPENID = "https://openid.example.org/users/lia-kid-93b1"
NOA_ACCOUNT = {"homePage": "https://school.example.org", "name": "noa-kid-27d5"}
TEACHER_MBOX = "mailto:ingrid.teach.61aa@example.org"
CLASS_MBOX = "mailto:class-7b.c0de@example.org"

ZOE = {"objectType": "Agent", "name": "Zoë Kidname", "mbox": ZOE_MBOX}
SAM = {"objectType": "Agent", "name": "Sam Learnerson", "mbox_sha1sum": SAM_SHA1}
LIA = {"name": "Lia Openidson", "openid": LIA_OPENID}
NOA = {"objectType": "Agent", "name": "Noa Accountova", "account": NOA_ACCOUNT}
TEACHER = {"objectType": "Agent", "name": "Ingrid Vollmer", "mbox": TEACHER_MBOX}
CLASS = {
    "objectType": "Group", "name": "Class Seven Bluebirds", "mbox": CLASS_MBOX,
    "member": [ZOE, SAM],
}
TEAM = {"objectType": "Group", "name": "Team Herons Nine", "member": [LIA, NOA]}

IDENTIFIERS = [
    ZOE_MBOX, "zoe.kid.4f1c", "Zoë Kidname", "Kidname",
    SAM_MBOX, "sam.kid.8e2a", SAM_SHA1, "Sam Learnerson",
    LIA_OPENID, "lia-kid-93b1", "Lia Openidson",
    "noa-kid-27d5", "Noa Accountova",
    TEACHER_MBOX, "ingrid.teach.61aa", "Ingrid Vollmer",
    CLASS_MBOX, "class-7b.c0de", "Class Seven Bluebirds", "Team Herons Nine",
    # The SHA-1 of each mbox is an identifier too (anyone can hash a guessed address).
    *(hashlib.sha1(m.encode()).hexdigest() for m in (ZOE_MBOX, TEACHER_MBOX, CLASS_MBOX)),
]

VERB = {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed"}}
COURSE = {"objectType": "Activity", "id": "http://example.com/courses/privacy"}


def everywhere(actor: dict[str, Any] = ZOE, **changes: Any) -> dict[str, Any]:
    """A statement with an agent in every position: actor, context instructor and team, and
    a SubStatement object with its own actor, Group object and context."""
    statement = {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": VERB,
        "object": {
            "objectType": "SubStatement",
            "actor": NOA,
            "verb": VERB,
            "object": CLASS,
            "context": {"instructor": LIA, "team": TEAM},
        },
        "context": {"instructor": TEACHER, "team": TEAM},
    }
    statement.update(changes)
    return copy.deepcopy(statement)


def everywhere_2_0(actor: dict[str, Any] = ZOE) -> dict[str, Any]:
    """`everywhere`, plus the xAPI 2.0 context agents and groups (9274.1.1 4.2.2.5) in the
    statement's context and the SubStatement's: to be sent with a 2.0 version header."""
    statement = everywhere(actor)
    agents = [{"objectType": "contextAgent", "agent": who} for who in (SAM, TEACHER)]
    groups = [{"objectType": "contextGroup", "group": group} for group in (CLASS, TEAM)]
    statement["context"].update(contextAgents=agents, contextGroups=groups)
    statement["object"]["context"].update(
        contextAgents=[{"objectType": "contextAgent", "agent": NOA,
                        "relevantTypes": ["http://example.com/types/peer"]}],
        contextGroups=[{"objectType": "contextGroup", "group": CLASS}],
    )
    return copy.deepcopy(statement)


def agent_objects() -> list[dict[str, Any]]:
    """Statements whose object is an Agent or a Group, one per kind of identifier."""
    return [
        copy.deepcopy({"id": str(uuid.uuid4()), "actor": TEACHER, "verb": VERB, "object": who})
        for who in (ZOE, SAM, {**LIA, "objectType": "Agent"}, NOA, CLASS, TEAM)
    ]


def simple(actor: dict[str, Any] = ZOE, **changes: Any) -> dict[str, Any]:
    statement = {"id": str(uuid.uuid4()), "actor": actor, "verb": VERB, "object": COURSE}
    statement.update(changes)
    return copy.deepcopy(statement)


BOUNDARY = "privacy-boundary-5e1d"


def sign_statement(statement: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """`statement` with a signature attachment (Data 2.6) and its JWS, a valid one over the
    statement, identities in clear in its payload."""
    from tests.jws_testing import sign, signature_attachment

    token = sign(statement)
    signed = copy.deepcopy(statement)
    signed["attachments"] = [signature_attachment(token)]
    return signed, token


def multipart_body(statements: Any, parts: list[bytes]) -> tuple[bytes, str]:
    """A multipart/mixed statement request (Communication 1.5.2): the statements, then one
    application/octet-stream part per item of `parts`; the body and its Content-Type."""
    delimiter = f"--{BOUNDARY}".encode()
    raw = delimiter + b"\r\nContent-Type: application/json\r\n\r\n" + json.dumps(
        statements).encode()
    for part in parts:
        raw += (
            b"\r\n" + delimiter
            + b"\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary"
            + b"\r\nX-Experience-API-Hash: " + hashlib.sha256(part).hexdigest().encode()
            + b"\r\n\r\n" + part
        )
    return raw + b"\r\n" + delimiter + b"--\r\n", f"multipart/mixed; boundary={BOUNDARY}"


def signed_multipart(statements: list[dict[str, Any]], index: int) -> tuple[bytes, str]:
    """A multipart/mixed batch (Communication 1.5.2) whose statement `index` is signed (Data
    2.6, a valid JWS): the request body and its Content-Type."""
    statements = copy.deepcopy(statements)
    statements[index], token = sign_statement(statements[index])
    return multipart_body(statements, [token])
