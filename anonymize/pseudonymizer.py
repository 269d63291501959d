"""Keyed pseudonyms for every agent position of a statement (DESIGN.md decision 4).

The pseudonym of an Agent or identified Group is an xAPI account (Data 2.4.2.4), so a stored
statement stays valid xAPI and carries the id of the key that made it::

    {"homePage": "<home_page>/<key id>",
     "name": base32, lowercase, unpadded, of HMAC-SHA256(tenant pseudonym key, canonical IFI)}

The canonical IFI (Data 2.4.2.3) is the list of fields below, each encoded as UTF-8 and prefixed
with its byte length as 4 bytes big-endian, concatenated; the first field names the kind, so no
two kinds and no two splits of the same characters give the same bytes:

* ``mbox`` and ``mbox_sha1sum`` -> ``["mbox_sha1sum", <lowercase hex SHA1 of the mailto IRI>]``.
  mbox_sha1sum is defined as the SHA1 of the mailto IRI, so both forms of one address give one
  pseudonym. Before hashing an mbox its scheme is written ``mailto:`` and its domain lowercased
  (domains are case-insensitive; clients SHOULD hash the lowercase domain).
* ``openid`` -> ``["openid", <uri>]``
* ``account`` -> ``["account", <homePage>, <name>]``

Names are dropped. Anonymous Groups stay Groups whose members are pseudonymized. Equal keys give
equal pseudonyms in any process, so other tools can join data on them.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC

from anonymize.errors import PseudonymError
from anonymize.keys import Keyring, Purpose
from statements.walk import IFI_FIELDS, map_agents, normalize_mbox

__all__ = [
    "DEFAULT_HOME_PAGE",
    "Pseudonymized",
    "Pseudonymizer",
    "canonical_ifi",
    "restore_statement",
]

DEFAULT_HOME_PAGE = "https://lrs.invalid/pseudonym"
_AGENT_TYPES = (None, "Agent", "Group")
# What this module writes: a key id of 8 base32 characters, a SHA-256 digest in 52.
_KEY_ID = re.compile(r"[a-z2-7]{8}")
_DIGEST = re.compile(r"[a-z2-7]{52}")
# base64.b32encode is pure Python and was most of a first-time pseudonym's cost; this gives the
# same 52 characters (lowercase, unpadded) from 10-bit groups, 4 times faster.
_B32_PAIRS = tuple(
    a + b for a in "abcdefghijklmnopqrstuvwxyz234567" for b in "abcdefghijklmnopqrstuvwxyz234567"
)
_B32_SHIFTS = tuple(range(250, -1, -10))

Agent = dict[str, Any]
Statement = dict[str, Any]


class Pseudonymized(NamedTuple):
    """A pseudonymized statement and the original agent at each position it replaced.

    `originals` maps a JSON path ("actor", "object.member[1]", "object.context.instructor",
    "context.contextAgents[0].agent": the paths of `statements.walk`) to the agent exactly as
    sent; a Group's entry leaves out `member`, whose agents have their own paths. Positions
    already holding a pseudonym of ours are not listed. Both share unchanged sub-objects
    with the input: treat them as read-only.
    """

    statement: Statement
    originals: dict[str, Agent]


class Pseudonymizer:
    """Replaces agents with keyed pseudonyms for one tenant. Thread-safe; reuse one instance.

    Results of the HMAC are cached (bounded, oldest out first) per identifier, since the same
    learners appear in statement after statement.
    """

    __slots__ = (
        "_account_home",
        "_cache",
        "_cache_size",
        "_hmac",
        "_lock",
        "_prefix",
        "home_page",
        "key_id",
        "tenant",
    )

    def __init__(
        self,
        keyring: Keyring,
        tenant: str = "default",
        home_page: str = DEFAULT_HOME_PAGE,
        *,
        cache_size: int = 65536,
    ) -> None:
        if not isinstance(home_page, str) or not home_page.strip("/"):
            raise ValueError("home_page must be a non-empty IRI")
        key = keyring.derive(tenant, Purpose.PSEUDONYM)
        self.tenant = tenant
        self.key_id = key.key_id
        self.home_page = home_page.rstrip("/")
        self._prefix = self.home_page + "/"
        self._account_home = self._prefix + key.key_id
        self._hmac = HMAC(key.key, SHA256())
        self._cache: dict[tuple[str, ...], str] = {}
        self._cache_size = max(1, cache_size)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pseudonymizer(tenant={self.tenant!r}, key_id={self.key_id!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Pseudonymizer cannot be pickled")

    def pseudonym(self, agent: Mapping[str, Any]) -> Agent:
        """The stored form of `agent`: for a statement's agents, a query's `agent` parameter
        and a document resource's agent alike, so clients keep working unchanged."""
        return self._agent(agent, "agent", None)

    def is_pseudonym(self, agent: Mapping[str, Any]) -> bool:
        """Whether `agent`'s identifier is a pseudonym this pseudonymizer's scheme wrote (under
        any key id, so pseudonyms survive rotation): such agents are never hashed again."""
        account = agent.get("account")
        return isinstance(account, dict) and self._is_pseudonym_account(account)

    def _is_pseudonym_account(self, account: Mapping[str, Any]) -> bool:
        home = account.get("homePage")
        name = account.get("name")
        prefix = self._prefix
        return (
            isinstance(home, str)
            and isinstance(name, str)
            and home.startswith(prefix)
            and _KEY_ID.fullmatch(home, len(prefix)) is not None
            and _DIGEST.fullmatch(name) is not None
        )

    def pseudonymize_statement(self, statement: Mapping[str, Any]) -> Pseudonymized:
        """A new statement with every agent position pseudonymized (`statements.walk`):
        actor, object (Agent or Group), Group members, context.instructor, context.team, the
        xAPI 2.0 context.contextAgents and context.contextGroups, and the same inside a
        SubStatement. The `authority` is a credential, not a learner: it is left alone."""
        originals: dict[str, Agent] = {}
        agent = self._agent

        def replace(node: Any, path: str) -> Agent:
            return agent(node, path, originals)

        return Pseudonymized(map_agents(statement, replace), originals)

    def _agent(
        self, node: Mapping[str, Any], path: str, originals: dict[str, Agent] | None
    ) -> Agent:
        if not isinstance(node, dict):
            raise PseudonymError(f"{path}: must be an Agent or Group object")
        object_type = node.get("objectType")
        if object_type not in _AGENT_TYPES:
            raise PseudonymError(f"{path}: objectType must be Agent or Group")
        ifi = _ifi(node, path)
        out: Agent = {} if object_type is None else {"objectType": object_type}
        if ifi is not None:
            if ifi[0] == "account" and self._is_pseudonym_account(node["account"]):
                out["account"] = {"homePage": ifi[1], "name": ifi[2]}
            else:
                out["account"] = {"homePage": self._account_home, "name": self._digest(ifi, path)}
        elif object_type != "Group":
            raise PseudonymError(
                f"{path}: an Agent needs one inverse functional identifier (Data 2.4.2.1)"
            )
        members = node.get("member") if object_type == "Group" else None
        original = node if members is None else {k: v for k, v in node.items() if k != "member"}
        if originals is not None and original != out:
            originals[path] = original
        if members is not None:
            if not isinstance(members, list):
                raise PseudonymError(f"{path}.member: must be an array of Agents")
            out["member"] = [
                self._agent(member, f"{path}.member[{i}]", originals)
                for i, member in enumerate(members)
            ]
        return out

    def _digest(self, ifi: tuple[str, ...], path: str) -> str:
        name = self._cache.get(ifi)
        if name is not None:
            return name
        mac = self._hmac.copy()
        mac.update(_canonical(ifi, path))
        name = _base32(mac.finalize())
        with self._lock:
            if len(self._cache) >= self._cache_size:
                del self._cache[next(iter(self._cache))]
            self._cache[ifi] = name
        return name


def canonical_ifi(agent: Mapping[str, Any]) -> bytes:
    """The bytes a pseudonym is the HMAC of (see the module docstring), for tools that
    re-implement or audit the scheme."""
    ifi = _ifi(agent, "agent")
    if ifi is None:
        raise PseudonymError("agent: no inverse functional identifier (Data 2.4.2.3)")
    return _canonical(ifi, "agent")


def restore_statement(
    statement: Mapping[str, Any], originals: Mapping[str, Mapping[str, Any]]
) -> Statement:
    """The statement as it was posted, from its pseudonymized form and `originals`."""

    def replace(node: Any, path: str) -> Any:
        return _restore_agent(node, path, originals)

    return map_agents(statement, replace)


def _restore_agent(
    node: Mapping[str, Any], path: str, originals: Mapping[str, Mapping[str, Any]]
) -> Any:
    original = originals.get(path)
    members = node.get("member") if isinstance(node, dict) else None
    if not isinstance(members, list):
        return node if original is None else dict(original)
    out = dict(node if original is None else original)
    out["member"] = [
        _restore_agent(member, f"{path}.member[{i}]", originals) for i, member in enumerate(members)
    ]
    return out


def _ifi(agent: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """The agent's identifier as a hashable tuple (also the cache key), None if it has none."""
    kind = None
    for field in IFI_FIELDS:
        if field in agent:
            if kind is not None:
                raise PseudonymError(
                    f"{path}: more than one inverse functional identifier (Data 2.4.2.1)"
                )
            kind = field
    if kind is None:
        return None
    value = agent[kind]
    if kind == "account":
        if not isinstance(value, dict):
            raise PseudonymError(f"{path}.account: must be an object (Data 2.4.2.4)")
        home, name = value.get("homePage"), value.get("name")
        if not isinstance(home, str) or not isinstance(name, str):
            raise PseudonymError(
                f"{path}.account: homePage and name must be strings (Data 2.4.2.4)"
            )
        return (kind, home, name)
    if not isinstance(value, str):
        raise PseudonymError(f"{path}.{kind}: must be a string (Data 2.4.2.3)")
    return (kind, value)


def _canonical(ifi: tuple[str, ...], path: str) -> bytes:
    kind = ifi[0]
    if kind == "mbox":
        iri = _normalize_mailto(ifi[1], path).encode("utf-8", "surrogatepass")
        fields: tuple[str, ...] = (
            "mbox_sha1sum",
            hashlib.sha1(iri, usedforsecurity=False).hexdigest(),
        )
    elif kind == "mbox_sha1sum":
        fields = ("mbox_sha1sum", ifi[1].lower())
    else:
        fields = ifi
    encoded = [field.encode("utf-8", "surrogatepass") for field in fields]
    return b"".join(len(field).to_bytes(4, "big") + field for field in encoded)


def _base32(digest: bytes) -> str:
    """RFC 4648 base32 of a 32-byte digest, lowercase, without padding."""
    bits = int.from_bytes(digest, "big") << 4  # 256 bits padded to 260: 26 groups of 10
    return "".join([_B32_PAIRS[(bits >> shift) & 1023] for shift in _B32_SHIFTS])


def _normalize_mailto(mbox: str, path: str) -> str:
    if mbox[:7].lower() != "mailto:":
        raise PseudonymError(f'{path}.mbox: must be a "mailto:" IRI (Data 2.4.2.3)')
    return normalize_mbox(mbox)
