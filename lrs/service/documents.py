"""The document resources: State, Activity Profile and Agent Profile (Communication 2.2 to
2.7), with ETag concurrency control (Communication 3.1).

Documents are stored and returned byte for byte with the Content-Type they were sent with.
Parameters arrive as the strings a client sent and are checked here; every `agent` is
pseudonymized (`lrs.service.privacy`) so the store only ever sees the key of the agent's
pseudonym, never the agent. Preconditions and merges are checked atomically with the write
by `storage.commands.documents`.

A PUT with neither If-Match nor If-None-Match follows the request's version: under 1.0.3
only a profile needs them (Communication 3.1), under 2.0 every document resource does onto
an existing document (409; 9274.1.1, xapi-2.0-notes.md section 4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from lrs.service.audit import UNPSEUDONYMIZED, Auditor
from lrs.service.errors import InvalidRequestError, NotFoundError, invalid
from lrs.service.principal import (
    PROFILE_READ_SCOPES,
    PROFILE_WRITE_SCOPES,
    STATE_READ_SCOPES,
    STATE_WRITE_SCOPES,
    Principal,
)
from lrs.service.privacy import Privacy
from lrs.service.tenants import Tenants
from statements import (
    IRI_ERROR,
    MEDIA_TYPE_ERROR,
    TIMESTAMP_ERROR,
    UUID_ERROR,
    StatementError,
    check_media_type,
    is_iri,
    is_uuid,
    parse_timestamp,
    stored_timestamp,
    validate_agent,
    version_family,
)
from storage import ACTIVITY_PROFILE, AGENT_PROFILE, STATE, Document, DocumentScope, Storage
from storage.commands import delete_document, delete_documents, put_document

DEFAULT_CONTENT_TYPE = "application/octet-stream"
EXISTS = (
    "the document exists: check its current state, then send If-Match with its ETag to "
    "replace it"
)


@dataclass(frozen=True, slots=True)
class DocumentResource:
    """What distinguishes the three document resources."""

    name: str
    id_param: str
    activity: bool
    agent: bool
    registration: bool
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    # Communication 3.1: a profile PUT must carry If-Match or If-None-Match; under 1.0.3
    # State need not (under 2.0 it does, see `DocumentService.write`).
    put_needs_precondition: bool
    # Communication 2.3: State alone has a multiple-document DELETE.
    delete_many: bool

    def parameters(self, *extra: str) -> tuple[str, ...]:
        """The parameter names a request to this resource may carry."""
        names = [self.id_param, *extra]
        if self.activity:
            names.append("activityId")
        if self.agent:
            names.append("agent")
        if self.registration:
            names.append("registration")
        return tuple(names)


STATE_RESOURCE = DocumentResource(
    STATE, "stateId", activity=True, agent=True, registration=True,
    read_scopes=STATE_READ_SCOPES, write_scopes=STATE_WRITE_SCOPES,
    put_needs_precondition=False, delete_many=True,
)
ACTIVITY_PROFILE_RESOURCE = DocumentResource(
    ACTIVITY_PROFILE, "profileId", activity=True, agent=False, registration=False,
    read_scopes=PROFILE_READ_SCOPES, write_scopes=PROFILE_WRITE_SCOPES,
    put_needs_precondition=True, delete_many=False,
)
AGENT_PROFILE_RESOURCE = DocumentResource(
    AGENT_PROFILE, "profileId", activity=False, agent=True, registration=False,
    read_scopes=PROFILE_READ_SCOPES, write_scopes=PROFILE_WRITE_SCOPES,
    put_needs_precondition=True, delete_many=False,
)


def parse_agent(raw: str) -> dict[str, object]:
    """An `agent` parameter: an Agent, not a Group (Communication 2.3, 2.4, 2.6); an
    identified Group's documents are kept under an Agent carrying the Group's identifier."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("agent must be an Agent object in JSON", field="agent") from None
    agent = validate_agent(data, path="agent")
    if agent.get("objectType", "Agent") != "Agent":
        raise StatementError({"agent.objectType": ["must be Agent"]})
    return agent


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise invalid(f"{name} parameter is required", field=name)
    return value


def _since(params: Mapping[str, str]) -> str | None:
    if "since" not in params:
        return None
    try:
        # A space may stand for the `T` (RFC 3339 5.6): `tincan` sends `str(datetime)`.
        return stored_timestamp(parse_timestamp(params["since"], allow_space=True))
    except ValueError:
        raise invalid(f"since {TIMESTAMP_ERROR}", field="since") from None


class DocumentService:
    """Document operations over one store; `strict_profile_put` as in the configuration."""

    def __init__(
        self,
        store: Storage,
        privacy: Privacy,
        tenants: Tenants,
        audit: Auditor,
        *,
        strict_profile_put: bool,
    ) -> None:
        self.store = store
        self.privacy = privacy
        self.tenants = tenants
        self.audit = audit
        self.strict_profile_put = strict_profile_put

    def _scope(
        self, resource: DocumentResource, params: Mapping[str, str], tenant: str
    ) -> DocumentScope:
        activity = agent = ""
        registration = None
        if resource.activity:
            activity = _required(params, "activityId")
            if not is_iri(activity):
                raise invalid(f"activityId {IRI_ERROR}", field="activityId")
        if resource.agent:
            # The only place an `agent` parameter is read.
            view = self.tenants.get(tenant)
            agent = self.privacy.agent_key(view, parse_agent(_required(params, "agent")))
        if resource.registration and "registration" in params:
            registration = params["registration"]
            if not is_uuid(registration):
                raise invalid(f"registration {UUID_ERROR}", field="registration")
            registration = registration.lower()
        return DocumentScope(
            resource.name, activity=activity, agent=agent, registration=registration
        )

    def get(
        self, principal: Principal, resource: DocumentResource, params: Mapping[str, str]
    ) -> Document | dict[str, str]:
        """One document, or without the id parameter the ids of the scope's documents
        updated after `since`, each with its latest update (Communication 2.3 to 2.7)."""
        principal.require(resource.read_scopes)
        scope = self._scope(resource, params, principal.tenant)
        since = _since(params)
        doc_id = params.get(resource.id_param)
        found: Document | dict[str, str] | None
        if doc_id is None:
            found = self.store.list_documents(principal.tenant, scope, since)
            count = len(found)
        else:
            found = self.store.get_document(
                principal.tenant, scope, _required(params, resource.id_param)
            )
            count = 0 if found is None else 1
        self.audit.record(
            principal, "documents.read", resource.name,
            filters=self._audit_filters(params, scope, principal.tenant), count=count,
        )
        if found is None:
            raise NotFoundError(f"no such document for this {resource.id_param}")
        return found

    def _audit_filters(
        self, params: Mapping[str, str], scope: DocumentScope, tenant: str
    ) -> dict[str, str]:
        """The parameters as the audit log records them: an agent as its pseudonym's key
        (the scope's), or not at all for a tenant that does not pseudonymize."""
        filters = dict(params)
        if "agent" in filters:
            view = self.tenants.get(tenant)
            filters["agent"] = (
                scope.agent if self.privacy.pseudonymizes(view) else UNPSEUDONYMIZED
            )
        return filters

    def write(
        self,
        principal: Principal,
        resource: DocumentResource,
        params: Mapping[str, str],
        content: bytes,
        content_type: str | None,
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
        merge: bool = False,
        version: str = "1.0.3",
    ) -> Document:
        """PUT (replace) or, with `merge`, POST (merge a JSON object into) one document. A
        POST that cannot merge raises DocumentMergeError. `version` is the request's."""
        principal.require(resource.write_scopes)
        scope = self._scope(resource, params, principal.tenant)
        doc_id = _required(params, resource.id_param)
        if content_type is not None and check_media_type(content_type) is not None:
            # Stored and sent back as a header: a CR, LF, NUL or non-ASCII character would
            # break every later read of the document (issue 10).
            raise invalid(f"Content-Type {MEDIA_TYPE_ERROR}", field="Content-Type")
        v2 = version_family(version) == "2.0"
        unconditional = (
            not merge
            and (resource.put_needs_precondition or v2)
            and if_match is if_none_match is None
        )
        if unconditional and not v2 and self.strict_profile_put:
            self._refuse_new_without_preconditions(
                self.store.get_document(principal.tenant, scope, doc_id)
            )
        return put_document(
            self.store, principal.tenant, scope, doc_id, content,
            content_type or DEFAULT_CONTENT_TYPE,
            updated=stored_timestamp(datetime.now(UTC)),
            if_match=if_match, if_none_match=if_none_match, merge=merge,
            # A PUT without If-Match / If-None-Match that must carry one never replaces a
            # document: 409 onto an existing one (Communication 3.1; 2.0: State too),
            # checked atomically with the write. Onto a new one it creates it, as clients
            # such as tincan expect.
            refuse_existing=EXISTS if unconditional else None,
        )

    def _refuse_new_without_preconditions(self, current: Document | None) -> None:
        """`strict_profile_put` on a 1.0.x request: the 1.0.3 conformance suite's 400 for a
        profile PUT without preconditions onto a new document (XAPI-00273), which the
        specification text itself does not require. Onto an existing one it is the 409."""
        if current is None:
            raise InvalidRequestError(
                "a PUT to a profile needs If-Match (to replace) or If-None-Match: * (to create)",
                fields={"If-Match": ["If-Match or If-None-Match is required"]},
                code="precondition_required",
            )

    def delete(
        self,
        principal: Principal,
        resource: DocumentResource,
        params: Mapping[str, str],
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
    ) -> None:
        """Delete one document, or (State without stateId) every document of the scope."""
        principal.require(resource.write_scopes)
        scope = self._scope(resource, params, principal.tenant)
        if resource.delete_many and resource.id_param not in params:
            delete_documents(self.store, principal.tenant, scope)
        else:
            delete_document(
                self.store, principal.tenant, scope, _required(params, resource.id_param),
                if_match=if_match, if_none_match=if_none_match,
            )
