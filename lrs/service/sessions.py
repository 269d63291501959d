"""Dashboard sessions: a login by a credential's key and secret gives a random session id
(256 bits, held only by the browser's cookie; the store keeps its SHA-256), a form token
for CSRF protection, and an end time. Each request re-reads the credential, so a revoked
credential ends its sessions at once; logging out deletes the session in the store, so a
copied cookie stops working too."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lrs.service.principal import Principal
from statements import parse_timestamp, stored_timestamp
from storage import Session, Storage


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session being used: its record and the principal of its credential."""

    session: Session
    principal: Principal

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.session.csrf)


class DashboardSessions:
    """Sessions of one store, `hours` long."""

    def __init__(self, store: Storage, *, hours: int) -> None:
        self.store = store
        self.hours = hours

    def start(self, principal: Principal) -> tuple[str, Session]:
        """A new session for an authenticated principal: (session id for the cookie,
        record)."""
        now = datetime.now(UTC)
        self.store.delete_expired_sessions(stored_timestamp(now))
        session_id = secrets.token_urlsafe(32)
        session = Session(
            id_hash=_hash(session_id),
            tenant=principal.tenant,
            credential=principal.key,
            csrf=secrets.token_urlsafe(24),
            created=stored_timestamp(now),
            expires=stored_timestamp(now + timedelta(hours=self.hours)),
        )
        self.store.put_session(session)
        return session_id, session

    def find(self, session_id: str | None, request_id: str = "") -> OpenSession | None:
        """The live session of a cookie's id with its credential's principal, or None (no
        such session, ended, or its credential revoked)."""
        if not session_id:
            return None
        session = self.store.get_session(_hash(session_id))
        if session is None:
            return None
        if parse_timestamp(session.expires) < datetime.now(UTC):
            self.store.delete_session(session.id_hash)
            return None
        credential = self.store.get_credential(session.credential)
        if credential is None or credential.revoked or credential.tenant != session.tenant:
            self.store.delete_session(session.id_hash)
            return None
        return OpenSession(session, Principal.of(credential, request_id))

    def end(self, session_id: str | None) -> None:
        if session_id:
            self.store.delete_session(_hash(session_id))
