"""Pseudonymization at the door (DESIGN.md decision 4): the one place where the service
applies the privacy library (`anonymize`) to what it stores and what it returns.

Writes (`Privacy.prepare`): every agent position of a statement is replaced by its keyed
pseudonym and the masking policy is applied, before anything reaches storage. The original
agents go to the identity vault, sealed with the tenant's vault key (AES-GCM): per statement
an entry with aad = tenant + "|" + statement id, stored in the statement's row; per
pseudonym each distinct original agent, with aad = tenant + "|identity|" + the pseudonym's
agent key, stored once per (pseudonym, keyed digest of the original) in the store's
identities. Both are written with the statements (`storage.commands.insert_statements`: in
their transaction, or in the deferred step a re-send can finish).

A statement's entry is the `originals` mapping (JSON path -> original agent), except for a
signed statement (Data 2.6), whose signature's JWS payload holds the statement with its
identities in clear. Such a statement is accepted (Data 2.6: a valid signed statement is
not rejected) and stored pseudonymized as any other; its entry is instead
`{"statement": <the statement as received>, "signatures": {sha2: [content type, base64
of the JWS]}}` (no JSON path is "signatures"), and the JWS never goes to the attachment
store. The whole statement is sealed, not only its agents, so that it comes back exactly
as signed even where masking dropped parts of the stored copy: the JWS holds those parts
anyway. Such an entry forwarded by an edge LRS is verified before it is kept
(`Privacy.accept_forwarded`): its JWS against its statement, its statement against the
forwarded pseudonyms.

Reads: a query's or a document resource's `agent` is pseudonymized the same way
(`Privacy.agent_key`), so a client finds its data with the identifiers it wrote with. Only a
credential with the `reidentify` scope gets the original agents back (`Privacy.reveal`),
and a signed statement's signature data; any other reader gets the stored statement, whose
signature attachment object is kept but has no data to go with it.

Whether to pseudonymize, and the masking policy, are the tenant's (`lrs.service.tenants`):
every method takes the `TenantView` of the request. With pseudonymization off, statements
are stored with the identities as sent; the masking policy still applies.

What this process holds of a tenant's learners in memory (the originals whose vault entry it
stored, the pseudonymizer's cache of identifier -> pseudonym) is dropped when it sees the
tenant at a newer revision: an erasure grows the revision (`storage.commands.erasure`), so
every worker forgets the erased learner at its next request for the tenant, and stores the
vault entry of a re-sent statement again instead of believing it stored.

Erasure (`Privacy.erasure_keys`, `Privacy.withdraw`): every key a learner may be stored under
(their pseudonym under the current and each retired master key, and their raw identifiers,
for statements stored while pseudonymization was off), and another learner's statement with
the learner taken out of its Groups, its vault entry sealed again without them. A tenant
refusing erased learners (`refuse_erased`) keeps a mark of each such key: an HMAC under the
tenant's general key (`Privacy.erased_marks`), never the key itself, so the store holds no
identifier or pseudonym of an erased learner; ingest compares the marks of every agent of
a batch, as sent and as stored, under the current and each retired key (`Privacy.marks_of`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from anonymize import (
    AnonymizeError,
    DerivedKey,
    KeyFileError,
    Keyring,
    KeyringError,
    PseudonymError,
    Pseudonymizer,
    Purpose,
    load_tenant_keys,
    restore_statement,
    seal,
    sealed_key_id,
    unseal,
    withdraw_member,
)
from lrs.config import Config, ConfigError
from lrs.service.errors import (
    IdentityVaultError,
    InvalidRequestError,
    RequestConflictError,
    invalid,
)
from lrs.service.tenants import TenantView
from statements import (
    IFI_FIELDS,
    AttachmentData,
    StatementError,
    agent_key,
    agent_position_tuples,
    is_signature_attachment,
    map_agents,
    negotiate_version,
    validate_statements,
    verify_signature,
)
from storage import Identity, StatementRecord, Storage, StoredStatement, build_record

_KNOWN_MAX = 100_000
_NOT_SIGNED_ENTRY = (
    'must be a signed statement\'s vault entry {"statement", "signatures"}'
)
_OTHER_AGENTS = (
    "its statement, pseudonymized, must give exactly the forwarded statement's agents"
)
# What the LRS assigns when storing (`lrs.service.ingest`): a signed statement's sealed
# original gets these from the stored statement when it is revealed.
_ASSIGNED = ("stored", "authority", "version", "timestamp")


@dataclass(frozen=True, slots=True)
class Prepared:
    """Statements in the form they are stored, with their vault entries by lowercase id,
    and the attachment data that may be stored in clear (signatures' JWS is sealed instead);
    `new` names the identities (by their original's canonical JSON) to `remember` once
    stored."""

    statements: list[dict[str, Any]]
    sealed: dict[str, bytes]
    identities: dict[str, tuple[Identity, ...]]
    attachments: AttachmentData
    new: tuple[bytes, ...] = ()
    tenant: str = ""
    revision: int = 0


class Privacy:
    """Pseudonymization and masking for one service instance, with the keys of `keyring`
    (None: no master key is configured, so no tenant can pseudonymize).

    Thread-safe; one Pseudonymizer per tenant, made on first use. The originals whose
    identity entry this process has stored are remembered (bounded), so the same learner's
    next statements skip sealing it again: most of a batch's cost otherwise. Both are
    dropped when a newer revision of the tenant is seen (module docstring).
    """

    __slots__ = ("_keyring", "_known", "_lock", "_pseudonymizers", "_revisions")

    def __init__(self, keyring: Keyring | None) -> None:
        self._keyring = keyring
        self._pseudonymizers: dict[str, Pseudonymizer] = {}
        self._known: dict[str, dict[bytes, None]] = {}
        self._revisions: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Privacy(keys={'configured' if self.enabled else 'none'})"

    @property
    def enabled(self) -> bool:
        """Whether a master key is configured, so that tenants can pseudonymize."""
        return self._keyring is not None

    @property
    def keyring(self) -> Keyring | None:
        """The keys (for other purposes of the service: the audit chain)."""
        return self._keyring

    def pseudonymizes(self, tenant: TenantView) -> bool:
        """Whether `tenant`'s identities are pseudonymized (its policy, and a key)."""
        return tenant.policy.pseudonymize and self._keyring is not None

    def _sync(self, view: TenantView) -> None:
        """Forget what this process holds of the tenant's learners when the tenant has
        changed since (an erasure grows its revision)."""
        seen = self._revisions.get(view.name)
        if seen is not None and view.revision <= seen:
            return
        with self._lock:
            seen = self._revisions.get(view.name)
            if seen is not None and view.revision <= seen:
                return
            if seen is not None:
                self._known.pop(view.name, None)
                self._pseudonymizers.pop(view.name, None)
            self._revisions[view.name] = view.revision

    def pseudonymizer(self, tenant: str) -> Pseudonymizer:
        """The tenant's Pseudonymizer: the same one `anonymize` users build from the same
        key, so their pseudonyms equal the stored ones."""
        found = self._pseudonymizers.get(tenant)
        if found is not None:
            return found
        keyring = self._require_keyring()
        with self._lock:
            found = self._pseudonymizers.get(tenant)
            if found is None:
                found = self._pseudonymizers[tenant] = Pseudonymizer(keyring, tenant)
        return found

    def _require_keyring(self) -> Keyring:
        if self._keyring is None:
            raise RuntimeError("pseudonymization is off")
        return self._keyring

    # -- writes -----------------------------------------------------------------------------

    def prepare(
        self,
        view: TenantView,
        statements: list[dict[str, Any]],
        attachments: AttachmentData | None = None,
    ) -> Prepared:
        """The statements as they will be stored, their vault entries, and which of the
        `attachments` received (by sha2) may be stored as they are.

        Every statement must carry its `id` already (the vault entry is bound to it). A
        signed statement's JWS holds its identities in clear: it is sealed in the
        statement's vault entry with the statement as received (module docstring).
        """
        received = attachments or {}
        clear = dict(received)
        masking = view.masking
        if not self.pseudonymizes(view):
            return Prepared([masking.apply(s) for s in statements], {}, {}, clear)
        assert self._keyring is not None
        tenant = view.name
        self._sync(view)
        pseudonymizer = self.pseudonymizer(tenant)
        vault_key = self._keyring.derive(tenant, Purpose.VAULT)
        stored: list[dict[str, Any]] = []
        sealed: dict[str, bytes] = {}
        identities: dict[str, tuple[Identity, ...]] = {}
        new: dict[bytes, None] = {}
        for index, statement in enumerate(statements):
            statement_id = statement["id"].lower()
            try:
                result = pseudonymizer.pseudonymize_statement(statement)
            except PseudonymError as exc:
                raise InvalidRequestError(f"[{index}].{exc}", code="invalid_statement") from None
            stored.append(masking.apply(result.statement))
            aad = f"{tenant}|{statement_id}".encode()
            signed = {h: received[h] for h in _signature_hashes(statement) if h in received}
            if signed:
                for sha2 in signed:
                    clear.pop(sha2, None)
                entry = {"statement": statement, "signatures": _encoded(signed)}
                sealed[statement_id] = seal(entry, vault_key, aad=aad)
            elif result.originals:
                sealed[statement_id] = seal(result.originals, vault_key, aad=aad)
            if not result.originals:
                continue
            own = self._identities(tenant, result.originals.values(), new)
            if own:
                identities[statement_id] = own
        return Prepared(stored, sealed, identities, clear, tuple(new), tenant, view.revision)

    def accept_forwarded(
        self, view: TenantView, statements: list[dict[str, Any]], sealed: Mapping[str, bytes]
    ) -> Prepared:
        """Statements an edge LRS forwards (`lrs.service.sync`) as they will be stored
        here, with their vault entries: for a tenant that pseudonymizes, every agent must
        already be a pseudonym of this tenant's keys (the edge pseudonymized at its door;
        nothing is hashed twice, and no identity is stored that arrived in clear), and a
        sealed blob (`sealed`, by lowercase statement id) is kept only when it opens with
        this tenant's vault key and its originals are exactly those behind the statement's
        pseudonyms (restored, then pseudonymized again, they give the statement back). A
        blob sealed under a vault key this LRS does not hold is dropped: the statement is
        stored with pseudonyms only. A signed statement's blob is its `{"statement",
        "signatures"}` entry, kept only when each JWS in it verifies against the sealed
        statement (as a direct POST's, `verify_signature`) and that statement pseudonymized
        gives exactly the forwarded agents (`_verified_signed`); without a blob to open,
        only its signature objects are checked. The vault's per-pseudonym entries are made
        here, from the verified originals. Paths in errors are `[index]...` and
        `sealed.<id>`."""
        masking = view.masking
        if not self.pseudonymizes(view):
            return Prepared([masking.apply(s) for s in statements], {}, {}, {})
        assert self._keyring is not None
        tenant = view.name
        self._sync(view)
        pseudonymizer = self.pseudonymizer(tenant)
        known = {k.key_id for k in self._keyring.derive_all(tenant, Purpose.PSEUDONYM)}
        vault_keys = self._keyring.derive_all(tenant, Purpose.VAULT)
        vault_ids = {k.key_id for k in vault_keys}
        errors: dict[str, list[str]] = {}
        kept: dict[str, bytes] = {}
        identities: dict[str, tuple[Identity, ...]] = {}
        new: dict[bytes, None] = {}
        for index, statement in enumerate(statements):
            statement_id = statement["id"].lower()
            try:
                again = pseudonymizer.pseudonymize_statement(statement)
            except PseudonymError as exc:
                path, _, rule = str(exc).partition(": ")
                errors[f"[{index}].{path}"] = [rule]
                continue
            clear = [*again.originals, *_foreign_pseudonyms(pseudonymizer, statement, known)]
            for path in clear:
                errors[f"[{index}].{path}"] = [
                    "must be a pseudonym of this tenant's key, as the edge's pseudonymizer "
                    "writes it: identities are forwarded pseudonymized only"
                ]
            blob = sealed.get(statement_id)
            signatures = _signature_attachments(statement)
            if clear or blob is None or _key_id(blob) not in vault_ids:
                errors.update(_unsealed_signatures(index, statement))
                continue
            entry = _opened(blob, vault_keys, tenant, statement_id)
            if signatures and isinstance(entry, dict) and "signatures" in entry:
                problems, originals = _verified_signed(pseudonymizer, statement, entry, signatures)
                if problems:
                    errors[f"sealed.{statement_id}"] = problems
                    continue
            else:
                # A signature given by fileUrl only: the edge sealed the originals alone.
                errors.update(_unsealed_signatures(index, statement))
                originals = _verified_originals(pseudonymizer, statement, entry)
            if originals is None:
                errors[f"sealed.{statement_id}"] = [
                    "must open with this tenant's vault key for this statement and hold the "
                    "originals of its pseudonyms"
                ]
                continue
            kept[statement_id] = blob
            own = self._identities(tenant, originals.values(), new)
            if own:
                identities[statement_id] = own
        if errors:
            raise InvalidRequestError(
                "the forwarded statements cannot be stored as sent", code="invalid_statement",
                fields=errors,
            )
        return Prepared(
            [masking.apply(s) for s in statements], kept, identities, {}, tuple(new), tenant,
            view.revision,
        )

    def forwarding_keys(self, view: TenantView) -> tuple[list[str], list[str]]:
        """The ids (never the keys) of the tenant's pseudonym keys and of the vault keys
        whose sealed originals this LRS keeps, current first; empty when the tenant does
        not pseudonymize here."""
        if not self.pseudonymizes(view):
            return [], []
        assert self._keyring is not None
        return (
            [k.key_id for k in self._keyring.derive_all(view.name, Purpose.PSEUDONYM)],
            [k.key_id for k in self._keyring.derive_all(view.name, Purpose.VAULT)],
        )

    def _identities(
        self,
        tenant: str,
        originals: Iterable[Mapping[str, Any]],
        new: dict[bytes, None],
    ) -> tuple[Identity, ...]:
        """The per-pseudonym vault entries of a statement's originals that neither this
        process nor this batch has stored yet (noted in `new`)."""
        assert self._keyring is not None
        pseudonymizer = self.pseudonymizer(tenant)
        vault_key = self._keyring.derive(tenant, Purpose.VAULT)
        digest_key = self._keyring.derive(tenant, Purpose.GENERAL).key
        known = self._known.get(tenant, {})
        own = []
        for original in originals:
            if not any(field in original for field in IFI_FIELDS):
                continue  # an anonymous Group: its members have their own entries
            canonical = orjson.dumps(original, option=orjson.OPT_SORT_KEYS)
            if canonical in known or canonical in new:
                continue
            new[canonical] = None
            key = agent_key(pseudonymizer.pseudonym(original))
            assert key is not None
            # Keyed: a plain hash of an e-mail address is reversed by hashing guesses.
            digest = hmac.new(digest_key, canonical, hashlib.sha256).hexdigest()[:32]
            own.append(
                Identity(key, digest, seal(dict(original), vault_key,
                                           aad=_identity_aad(tenant, key)))
            )
        return tuple(own)

    def remember(self, prepared: Prepared) -> None:
        """Note that `prepared` was stored: its identities need no sealing again. (An entry
        stored by a batch that was all re-sends is not written; it was stored with them.)
        Not if the tenant changed meanwhile: an erasure may have deleted them."""
        if not prepared.new:
            return
        with self._lock:
            if self._revisions.get(prepared.tenant) != prepared.revision:
                return
            if sum(map(len, self._known.values())) + len(prepared.new) > _KNOWN_MAX:
                self._known.clear()
            self._known.setdefault(prepared.tenant, {}).update(dict.fromkeys(prepared.new))

    # -- reads ------------------------------------------------------------------------------

    def stored_agent(self, view: TenantView, agent: Mapping[str, Any]) -> Mapping[str, Any]:
        """A validated agent given as a parameter, as the store knows it: its pseudonym."""
        if not self.pseudonymizes(view):
            return agent
        self._sync(view)
        try:
            return self.pseudonymizer(view.name).pseudonym(agent)
        except PseudonymError as exc:
            raise invalid(str(exc), field="agent") from None

    def agent_key(self, view: TenantView, agent: Mapping[str, Any]) -> str:
        """The storage key of a validated agent given as a query or document parameter."""
        key = agent_key(dict(self.stored_agent(view, agent)))
        if key is None:
            raise invalid("agent needs an inverse functional identifier", field="agent")
        return key

    def reveal(self, tenant: str, row: StoredStatement) -> tuple[bytes, AttachmentData]:
        """For a `reidentify` reader: the statement as received (original agents restored)
        and the data of its signatures (by sha2, none unless signed); the stored bytes when
        it holds no vault entry (or pseudonymization is off)."""
        if row.sealed is None or self._keyring is None:
            return row.statement, {}
        try:
            entry = unseal(
                row.sealed,
                self._keyring.derive_all(tenant, Purpose.VAULT),
                aad=f"{tenant}|{row.id}".encode(),
            )
        except AnonymizeError as exc:
            # A blob sealed under a key this keyring lacks, or altered: never guess.
            raise IdentityVaultError("cannot open the identity vault") from exc
        assert isinstance(entry, dict)
        stored = orjson.loads(row.statement)
        if "signatures" not in entry:
            return orjson.dumps(restore_statement(stored, entry)), {}
        statement = {**entry["statement"], **{k: stored[k] for k in _ASSIGNED if k in stored}}
        parts = {
            sha2: (content_type, base64.b64decode(data))
            for sha2, (content_type, data) in entry["signatures"].items()
        }
        return orjson.dumps(statement), parts

    def person(
        self, view: TenantView, agent: Mapping[str, Any], store: Storage, *, reidentify: bool
    ) -> tuple[dict[str, Any], int]:
        """The Person object for an agent (Communication 2.4): the agent as stored (its
        pseudonym when pseudonymization is on) and, for a `reidentify` reader, every name and
        identifier the vault holds for that pseudonym; and how many originals were opened."""
        if not self.pseudonymizes(view):
            return _person([agent]), 0
        assert self._keyring is not None
        tenant = view.name
        self._sync(view)
        pseudonym = self.pseudonymizer(tenant).pseudonym(agent)
        if not reidentify:
            return _person([pseudonym]), 0
        key = agent_key(pseudonym)
        assert key is not None
        keys = self._keyring.derive_all(tenant, Purpose.VAULT)
        originals: list[Mapping[str, Any]] = []
        for identity in store.get_identities(tenant, key):
            try:
                original = unseal(identity.sealed, keys, aad=_identity_aad(tenant, key))
            except AnonymizeError as exc:
                raise IdentityVaultError("cannot open the identity vault") from exc
            assert isinstance(original, dict)
            originals.append(original)
        return _person([*originals, pseudonym]), len(originals)


    # -- erasure --------------------------------------------------------------------------

    def erasure_keys(
        self, view: TenantView, agent: Mapping[str, Any], store: Storage
    ) -> tuple[Mapping[str, Any], list[str]]:
        """The learner as the store knows them now (their pseudonym, or the agent as sent
        when the tenant does not pseudonymize) and every agent key their records may be
        stored under: that pseudonym and the ones retired master keys made, and the raw
        identifiers, `mbox` with its `mbox_sha1sum` (statements stored while
        pseudonymization was off). Given a pseudonym, the raw identifiers are the vault's
        originals behind it, when it holds any."""
        self._sync(view)
        stored = self.stored_agent(view, agent)
        if self._keyring is None:
            return stored, _raw_keys(agent)
        tenant = view.name
        current = self.pseudonymizer(tenant)
        originals: list[Mapping[str, Any]] = [agent]
        if current.is_pseudonym(agent):
            key = agent_key(dict(agent))
            assert key is not None
            originals = [agent, *self._originals(tenant, key, store)]
        keys: list[str] = []
        generations = [
            current, *(Pseudonymizer(k, tenant) for k in self._keyring.generations()[1:])
        ]
        for original in originals:
            keys += _raw_keys(original)
            if not current.is_pseudonym(original):
                for pseudonymizer in generations:
                    keys += _raw_keys(pseudonymizer.pseudonym(original))
        return stored, list(dict.fromkeys(keys))

    def _originals(self, tenant: str, key: str, store: Storage) -> list[Mapping[str, Any]]:
        assert self._keyring is not None
        keys = self._keyring.derive_all(tenant, Purpose.VAULT)
        found: list[Mapping[str, Any]] = []
        for identity in store.get_identities(tenant, key):
            try:
                original = unseal(identity.sealed, keys, aad=_identity_aad(tenant, key))
            except AnonymizeError as exc:
                raise IdentityVaultError("cannot open the identity vault") from exc
            assert isinstance(original, dict)
            found.append(original)
        return found

    def withdraw(
        self, tenant: str, row: StoredStatement, statement: dict[str, Any], keys: frozenset[str]
    ) -> StatementRecord | None:
        """Another learner's statement with the learner of agent keys `keys` taken out of
        its Groups, its originals sealed again without them; None when it is to be deleted
        instead: the learner's own (`anonymize.withdraw_member`), or a signed statement,
        whose sealed original and JWS name the learner and which, edited, would no longer
        match its signature."""

        def erased(node: Mapping[str, Any]) -> bool:
            return agent_key(dict(node)) in keys

        # Most statements found are the learner's own: judged without opening the vault.
        withdrawn = withdraw_member(statement, {}, erased)
        if withdrawn is None:
            return None
        if row.sealed is None:
            return build_record(withdrawn.statement, writer=row.writer)
        if self._keyring is None:
            raise IdentityVaultError("cannot open the identity vault: no master key")
        try:
            originals = unseal(
                row.sealed, self._keyring.derive_all(tenant, Purpose.VAULT),
                aad=f"{tenant}|{row.id}".encode(),
            )
        except AnonymizeError as exc:
            raise IdentityVaultError("cannot open the identity vault") from exc
        assert isinstance(originals, dict)
        if "signatures" in originals:
            return None
        withdrawn = withdraw_member(statement, originals, erased)
        assert withdrawn is not None  # the same statement, judged the same
        sealed = None
        if withdrawn.originals:
            sealed = seal(
                withdrawn.originals, self._keyring.derive(tenant, Purpose.VAULT),
                aad=f"{tenant}|{row.id}".encode(),
            )
        return build_record(withdrawn.statement, writer=row.writer, sealed=sealed)

    def erased_marks(self, view: TenantView, keys: Sequence[str]) -> list[str]:
        """The marks an erasure stores for a tenant refusing erased learners: one per agent
        key of the learner (module docstring). RequestConflictError without a master key:
        an unkeyed digest of an e-mail address is reversed by hashing guesses."""
        if self._keyring is None:
            raise RequestConflictError(
                "the tenant refuses erased learners (refuse_erased), which needs a master key"
                " (key_file or master_key) to keep their marks; nothing was erased",
                code="refuse_erased_needs_key",
            )
        key = self._keyring.derive(view.name, Purpose.GENERAL).key
        return sorted({_mark(key, agent) for agent in keys})

    def marks_of(
        self, view: TenantView, statements: Sequence[Mapping[str, Any]]
    ) -> list[set[str]]:
        """The marks of every agent of each statement, under the current and each retired
        key. Empty sets without a master key: no erasure could have marked anyone."""
        if self._keyring is None:
            return [set() for _ in statements]
        keys = [d.key for d in self._keyring.derive_all(view.name, Purpose.GENERAL)]
        return [
            {
                _mark(key, agent)
                for _, node, *_ in agent_position_tuples(dict(statement), authority=False)
                for agent in _raw_keys(node)
                for key in keys
            }
            for statement in statements
        ]


def _mark(key: bytes, agent: str) -> str:
    return hmac.new(key, f"erased|{agent}".encode(), hashlib.sha256).hexdigest()


def _raw_keys(agent: Mapping[str, Any]) -> list[str]:
    """An agent's key, and for an `mbox` its `mbox_sha1sum`'s (one address, two forms)."""
    key = agent_key(dict(agent))
    if key is None:
        return []
    mbox = agent.get("mbox")
    if not isinstance(mbox, str):
        return [key]
    sha1 = hashlib.sha1(key[len("mbox:") :].encode(), usedforsecurity=False).hexdigest()
    return [key, "mbox_sha1sum:" + sha1]


def load_privacy(config: Config) -> Privacy:
    """The Privacy of a configuration. Raises ConfigError, naming what to do, when
    pseudonymization is on and no usable key is configured, or a tenant key file
    (`tenant_keys_file`, installed by `lrs keys import`) exists but cannot be used; never
    shows key material. With pseudonymization off by default, a configured key is still
    used when it loads (tenants may turn pseudonymization on, and the audit chain is keyed
    with it)."""
    if not config.pseudonymize:
        try:
            keyring = _keyring(config)
        except (KeyFileError, KeyringError):
            return Privacy(None)
        return Privacy(_with_tenant_keys(keyring, config))
    advice = (
        f"create a key file with `lrs keys init {config.key_file}`, or set LRS_MASTER_KEY, "
        "or turn pseudonymization off with LRS_PSEUDONYMIZE=false"
    )
    try:
        keyring = _keyring(config)
    except KeyFileError as exc:
        raise ConfigError(
            f"pseudonymization is on but there is no usable key: {exc}; {advice}"
        ) from None
    except KeyringError as exc:
        raise ConfigError(
            f"pseudonymization is on but master_key (LRS_MASTER_KEY) is not usable: {exc}; "
            f"{advice}"
        ) from None
    return Privacy(_with_tenant_keys(keyring, config))


def _keyring(config: Config) -> Keyring:
    if config.master_key:
        return Keyring.from_text(config.master_key)
    return Keyring.from_file(config.key_file)


def _with_tenant_keys(keyring: Keyring, config: Config) -> Keyring:
    """`keyring` with the tenant keys installed in `tenant_keys_file`, if there is one."""
    path = Path(config.tenant_keys_file)
    if not path.exists():
        return keyring
    try:
        return keyring.with_tenant_keys(load_tenant_keys(path))
    except KeyringError as exc:
        raise ConfigError(
            f"tenant_keys_file: {exc}; install tenant keys with `lrs keys import FILE`"
        ) from None


def _signature_attachments(statement: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A statement's signature attachment objects (Data 2.6), by lowercase sha2."""
    return {
        attachment["sha2"].lower(): attachment
        for attachment in statement.get("attachments") or ()
        if is_signature_attachment(attachment)
    }


def _unsealed_signatures(index: int, statement: Mapping[str, Any]) -> dict[str, list[str]]:
    """What can be checked of a forwarded signed statement whose sealed entry this LRS
    cannot open (none sent, or sealed under a vault key it lacks): its signature objects
    only (Data 2.6 contentType), as for a signature given by `fileUrl`."""
    errors: dict[str, list[str]] = {}
    for position, attachment in enumerate(statement.get("attachments") or ()):
        if not is_signature_attachment(attachment):
            continue
        try:
            verify_signature(
                dict(statement), attachment, None, path=f"[{index}].attachments[{position}]"
            )
        except StatementError as exc:
            errors.update(exc.errors)
    return errors


def _opened(blob: bytes, keys: tuple[DerivedKey, ...], tenant: str, statement_id: str) -> Any:
    """The vault entry sealed in `blob` for this statement; None when it does not open for
    it (altered, another statement's)."""
    try:
        return unseal(blob, keys, aad=f"{tenant}|{statement_id}".encode())
    except AnonymizeError:
        return None


def _verified_signed(
    pseudonymizer: Pseudonymizer,
    statement: Mapping[str, Any],
    entry: dict[str, Any],
    signatures: Mapping[str, Mapping[str, Any]],
) -> tuple[list[str], dict[str, Any] | None]:
    """A forwarded signed statement's opened vault entry checked (module docstring): it is
    `{"statement", "signatures"}`; the sealed statement is valid xAPI with this id, each of
    the forwarded statement's signatures is in it with its JWS, which verifies against the
    sealed statement as a direct POST's would (`verify_signature`), and pseudonymizing the
    sealed statement gives exactly the forwarded agents. The problems (empty when none) and
    the originals behind the pseudonyms."""
    if set(entry) != {"statement", "signatures"} or not isinstance(entry["signatures"], dict):
        return [_NOT_SIGNED_ENTRY], None
    version = negotiate_version(statement.get("version")) or "1.0.3"
    try:
        [original] = validate_statements([entry["statement"]], version=version)
    except StatementError:
        return [f"{_NOT_SIGNED_ENTRY}: its statement is not a valid statement"], None
    if original.get("id", "").lower() != statement["id"].lower():
        return [f"{_NOT_SIGNED_ENTRY}: its statement has another id"], None
    problems: list[str] = []
    sealed_objects = _signature_attachments(original)
    for sha2 in signatures:
        given = entry["signatures"].get(sha2)
        token = _token(given, sha2)
        if sha2 not in sealed_objects or token is None:
            problems.append(f"must hold the JWS of signature {sha2}, matching its sha2")
            continue
        try:
            verify_signature(original, sealed_objects[sha2], token, version=version)
        except StatementError as exc:
            problems += [rule for rules in exc.errors.values() for rule in rules]
    if set(sealed_objects) != set(signatures):
        problems.append("its statement must have the forwarded statement's signatures")
    try:
        again = pseudonymizer.pseudonymize_statement(original)
    except PseudonymError:
        return [*problems, _OTHER_AGENTS], None
    if _agent_positions(again.statement) != _agent_positions(statement):
        problems.append(_OTHER_AGENTS)
    return problems, again.originals


def _token(given: Any, sha2: str) -> bytes | None:
    """The JWS of a sealed `[content type, base64]` pair when its hash is `sha2`."""
    if not (isinstance(given, list) and len(given) == 2 and isinstance(given[1], str)):
        return None
    try:
        token = base64.b64decode(given[1], validate=True)
    except binascii.Error:
        return None
    return token if hashlib.sha256(token).hexdigest() == sha2 else None


def _agent_positions(statement: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, node) for path, node, *_ in agent_position_tuples(statement, authority=False)]


def _signature_hashes(statement: Mapping[str, Any]) -> list[str]:
    """The sha2 (lowercase) of a statement's signature attachments (Data 2.6: a signature
    is an attachment of the statement itself, never of a SubStatement)."""
    return [
        attachment["sha2"].lower()
        for attachment in statement.get("attachments") or ()
        if is_signature_attachment(attachment)
    ]


def _encoded(parts: AttachmentData) -> dict[str, list[str]]:
    """Signature data in the JSON a vault entry is: base64, so every byte comes back."""
    return {
        sha2: [content_type, base64.b64encode(data).decode("ascii")]
        for sha2, (content_type, data) in parts.items()
    }


def _foreign_pseudonyms(
    pseudonymizer: Pseudonymizer, statement: Mapping[str, Any], known: set[str]
) -> list[str]:
    """The paths of the statement's pseudonyms made under a key id not in `known` (another
    tenant's or another LRS's key: they would never match this tenant's learners)."""
    prefix = pseudonymizer.home_page + "/"
    found: list[str] = []

    def visit(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            if pseudonymizer.is_pseudonym(node) and (
                node["account"]["homePage"][len(prefix):] not in known
            ):
                found.append(path)
            members = node.get("member")
            if isinstance(members, list):
                for index, member in enumerate(members):
                    visit(member, f"{path}.member[{index}]")
        return node

    map_agents(statement, visit)
    return found


def _verified_originals(
    pseudonymizer: Pseudonymizer, statement: Mapping[str, Any], originals: Any
) -> dict[str, Any] | None:
    """The opened vault entry `originals` when it is exactly the originals behind the
    statement's pseudonyms; None otherwise (it did not open, or holds anything else)."""
    if not isinstance(originals, dict) or not originals:
        return None
    try:
        again = pseudonymizer.pseudonymize_statement(restore_statement(statement, originals))
    except (PseudonymError, TypeError, AttributeError):
        return None
    if again.statement != statement or again.originals != originals:
        return None
    return originals


def _key_id(blob: bytes) -> str:
    try:
        return sealed_key_id(blob)
    except AnonymizeError:
        return ""


def _identity_aad(tenant: str, key: str) -> bytes:
    return f"{tenant}|identity|{key}".encode()


def _person(agents: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A Person object (Communication 2.4): each property an array of distinct values."""
    person: dict[str, Any] = {"objectType": "Person"}
    for agent in agents:
        for field in ("name", *IFI_FIELDS):
            value = agent.get(field)
            if value is not None and value not in person.setdefault(field, []):
                person[field].append(value)
    return person
