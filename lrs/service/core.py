"""`LearningRecordStore`: every operation of the LRS, without HTTP.

Built from a storage backend, the privacy components and the settings; each operation takes
the calling `Principal` and raises library errors only (`lrs.service.errors`,
`statements.StatementError`, `storage.StorageError`). The Flask blueprints parse a request,
call one operation and render its result; the CLI, the bench scripts and other tools call
the same operations. Modelled on SQL LRS's `system/lrs.clj`: the rules live in the
operations (`lrs.service.*`) and in `storage.commands`, backends provide primitives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lrs.config import Config, ConfigError
from lrs.service.activities import get_activity
from lrs.service.admin import Administration
from lrs.service.agents import get_person
from lrs.service.agreements import AgreementService
from lrs.service.audit import Auditor
from lrs.service.credentials import CredentialAdmin
from lrs.service.documents import DocumentResource, DocumentService
from lrs.service.erasure import ErasureService
from lrs.service.errors import InvalidRequestError
from lrs.service.exports import NDJSON, Export, ExportService
from lrs.service.forwarding import Forwarder
from lrs.service.principal import Principal
from lrs.service.privacy import Privacy, load_privacy
from lrs.service.reports import ReportService
from lrs.service.statements import StatementPage, StatementService
from lrs.service.sync import SyncService
from lrs.service.tenants import TenantPolicy, Tenants
from statements import VOIDED, AttachmentPart
from storage import Agreement, Document, Storage, open_storage


class LearningRecordStore:
    """The LRS's operations over one store. Thread-safe; one per process (or app)."""

    def __init__(self, store: Storage, privacy: Privacy, settings: Config) -> None:
        self.store = store
        self.privacy = privacy
        self.settings = settings
        self.tenants = Tenants(
            store, TenantPolicy.from_config(settings), can_pseudonymize=privacy.enabled
        )
        self.audit = Auditor(store, privacy.keyring)
        self.admin = Administration(self.tenants, self.audit)
        self.agreements = AgreementService(store, self.tenants, self.audit, privacy.keyring)
        self.credentials = CredentialAdmin(
            store, self.tenants, self.audit, self.agreements,
            home_page=settings.authority_home_page,
        )
        self.exports = ExportService(
            store, self.tenants, self.audit, privacy.keyring, self.agreements
        )
        self.erasure = ErasureService(
            store, privacy, self.tenants, self.audit,
            authority_home_page=settings.authority_home_page,
        )
        self._statements = StatementService(
            store,
            privacy,
            self.tenants,
            self.audit,
            limit_max=settings.statements_limit_max,
            strip_2_0_properties=settings.strip_2_0_properties,
        )
        self.reports = ReportService(store, privacy, self.tenants, self.audit)
        self._documents = DocumentService(
            store, privacy, self.tenants, self.audit,
            strict_profile_put=settings.strict_profile_put,
        )
        # Central side of edge forwarding (`sync` credentials), and the edge side.
        self.sync = SyncService(store, privacy, self.tenants, self.audit)
        self.forwarding = Forwarder(
            store, privacy, self.tenants, self.audit, erase_local=self.erasure.erase_listed
        )

    @classmethod
    def open(cls, settings: Config) -> LearningRecordStore:
        """The service of a configuration: privacy first (no key, no start: ConfigError),
        then the store it names (StorageError when it cannot be opened). Refuses to start
        (ConfigError) when the configuration's tenant defaults break a policy rule, or a
        tenant pseudonymizes and no key is configured."""
        privacy = load_privacy(settings)
        try:
            TenantPolicy.from_config(settings)
        except InvalidRequestError as exc:
            raise ConfigError(exc.message) from None
        store = open_storage(settings.storage_uri)
        try:
            service = cls(store, privacy, settings)
            if not privacy.enabled:
                pseudonymizing = [t.name for t in service.tenants.list() if t.policy.pseudonymize]
                if pseudonymizing:
                    raise ConfigError(
                        f"tenants {', '.join(pseudonymizing)} pseudonymize identities but no "
                        "master key is configured (lrs keys init, or LRS_MASTER_KEY)"
                    )
        except BaseException:
            store.close()
            raise
        return service

    def close(self) -> None:
        """Release the store's connections and files."""
        self.store.close()

    def __enter__(self) -> LearningRecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LearningRecordStore(store={self.store!r}, privacy={self.privacy!r})"

    # -- statements (Communication 2.1) ----------------------------------------------------

    def post_statements(
        self,
        principal: Principal,
        data: Any,
        parts: Sequence[AttachmentPart] = (),
        *,
        version: str = "1.0.3",
    ) -> list[str]:
        """Store one statement or a batch (parsed JSON), all or none: their ids in order."""
        return self._statements.post(principal, data, parts, version=version)

    def put_statement(
        self,
        principal: Principal,
        statement_id: str,
        data: Any,
        parts: Sequence[AttachmentPart] = (),
        *,
        version: str = "1.0.3",
    ) -> None:
        """Store one statement under `statement_id`."""
        self._statements.put(principal, statement_id, data, parts, version=version)

    def void_statement(
        self, principal: Principal, statement_id: str, *, version: str = "1.0.3"
    ) -> str:
        """Void a stored statement (Data 2.3.2) with a voiding statement whose actor is the
        principal's authority; the voiding statement's id."""
        voiding = {
            "actor": principal.authority,
            "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": statement_id},
        }
        [voiding_id] = self._statements.post(principal, voiding, version=version)
        return voiding_id

    def read_statements(
        self,
        principal: Principal,
        params: Mapping[str, str],
        *,
        more: str | None = None,
        languages: Sequence[str] = (),
        version: str = "1.0.3",
    ) -> StatementPage:
        """GET Statements with these parameters, or the page a `more` token continues, as a
        reader of xAPI `version` sees them."""
        return self._statements.read(
            principal, params, more=more, languages=languages, version=version
        )

    # -- documents (Communication 2.3, 2.6, 2.7) ------------------------------------------

    def get_document(
        self, principal: Principal, resource: DocumentResource, params: Mapping[str, str]
    ) -> Document | dict[str, str]:
        """One document, or (without its id parameter) the ids of a scope's documents."""
        return self._documents.get(principal, resource, params)

    def put_document(
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
        """Replace (PUT) or merge into (POST, `merge`) one document under the concurrency
        rules of xAPI `version`."""
        return self._documents.write(
            principal, resource, params, content, content_type,
            if_match=if_match, if_none_match=if_none_match, merge=merge, version=version,
        )

    def delete_document(
        self,
        principal: Principal,
        resource: DocumentResource,
        params: Mapping[str, str],
        *,
        if_match: Sequence[str] | None = None,
        if_none_match: Sequence[str] | None = None,
    ) -> None:
        """Delete one document, or every document of a State scope."""
        self._documents.delete(
            principal, resource, params, if_match=if_match, if_none_match=if_none_match
        )

    # -- activities and agents (Communication 2.4, 2.5) -----------------------------------

    def get_activity(self, principal: Principal, activity_id: str) -> dict[str, Any]:
        """The Activity object with its canonical definition."""
        return get_activity(self.store, principal, activity_id)

    def get_person(self, principal: Principal, agent: str | None) -> dict[str, Any]:
        """The Person object for an `agent` parameter (JSON text)."""
        return get_person(self.store, self.privacy, self.tenants, self.audit, principal, agent)

    # -- data-sharing agreements and partner exports --------------------------------------

    def create_agreement(
        self, principal: Principal, terms: Mapping[str, Any], *, tenant: str | None = None
    ) -> Agreement:
        """A new agreement of the principal's tenant (any, for `platform`) from its JSON
        terms (`lrs.service.agreements.BODY_FIELDS`)."""
        return self.agreements.create(principal, terms, tenant=tenant)

    def list_agreements(self, principal: Principal, tenant: str | None = None) -> list[Agreement]:
        return self.agreements.list_for(principal, tenant)

    def get_agreement(
        self, principal: Principal, agreement_id: str, tenant: str | None = None
    ) -> Agreement:
        return self.agreements.get(principal, agreement_id, tenant)

    def revoke_agreement(
        self, principal: Principal, agreement_id: str, tenant: str | None = None
    ) -> Agreement:
        """Refuse the agreement's exports from now on."""
        return self.agreements.revoke(principal, agreement_id, tenant)

    def export(
        self,
        principal: Principal,
        agreement_id: str,
        *,
        media_type: str = NDJSON,
        cursor: str | None = None,
    ) -> Export:
        """The export of the agreement the principal's export credential is bound to, from
        the start or after `cursor`, ready to stream."""
        return self.exports.open(principal, agreement_id, media_type=media_type, cursor=cursor)

    def export_receipts(self, principal: Principal, agreement_id: str) -> list[dict[str, Any]]:
        """The audit entries of the agreement's exports: the partner's receipts."""
        return self.exports.receipts(principal, agreement_id)
