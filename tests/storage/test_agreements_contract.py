"""The agreement storage contract, on every backend: agreements are tenant-scoped, read back
exactly, listed oldest first and replaced whole (revocation); a credential keeps the
agreement it is bound to. And the SQLite layout step that added them (2 -> 3)."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from storage import Agreement, Credential, open_storage

REGION = "http://example.org/ext/region"


def agreement(agreement_id: str, tenant: str = "school-a", created: str = "2026-01-01"):
    return Agreement(
        id=agreement_id, tenant=tenant, partner="Ministry", purpose="Monitoring",
        fields=("verb.id", f"context.extensions.{REGION}"), dimensions=(("region", REGION),),
        since=None, until="2026-06-30T00:00:00.000000Z", starts="2026-01-01T00:00:00.000000Z",
        expires="2027-01-01T00:00:00.000000Z", learner_ids=True,
        created=f"{created}T00:00:00.000000Z",
    )


def test_agreements_read_back_per_tenant_oldest_first(store):
    first, second = agreement("a-2", created="2026-01-01"), agreement("a-1", created="2026-02-01")
    store.put_agreement(second)
    store.put_agreement(first)
    store.put_agreement(agreement("a-1", tenant="school-b"))
    assert store.get_agreement("school-a", "a-1") == second
    assert store.list_agreements("school-a") == [first, second]
    assert store.get_agreement("school-c", "a-1") is None
    assert [a.tenant for a in store.list_agreements("school-b")] == ["school-b"]
    revoked = dataclasses.replace(second, revoked="2026-03-01T00:00:00.000000Z")
    store.put_agreement(revoked)
    assert store.get_agreement("school-a", "a-1") == revoked
    assert store.get_agreement("school-b", "a-1").revoked is None


def test_a_credential_keeps_its_agreement(store):
    bound = Credential("k1", "hash", "partner", ("export",), "{}", "school-a", "now",
                       agreement="a-1")
    store.put_credential(bound)
    store.put_credential(dataclasses.replace(bound, key="k2", scopes=("all",), agreement=None))
    assert store.get_credential("k1") == bound
    assert store.get_credential("k2").agreement is None


@pytest.fixture
def layout_2_file(tmp_path):
    """A SQLite file as the layout-2 code left it: no agreements table, no agreement
    column, user_version 2, one credential."""
    path = tmp_path / "lrs.db"
    with open_storage(f"sqlite:///{path}") as fresh:
        fresh.put_credential(Credential("k1", "hash", "app", ("all",), "{}", "default", "now"))
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE agreements")
        conn.execute("ALTER TABLE credentials DROP COLUMN agreement")
        conn.execute("PRAGMA user_version = 2")
    return path


def columns(path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute("PRAGMA table_info(credentials)")}


def test_a_layout_2_sqlite_file_gets_agreements_in_place(layout_2_file):
    from storage.sqlite.schema import SCHEMA_VERSION

    uri = f"sqlite:///{layout_2_file}"
    with open_storage(uri) as store:
        assert store.get_credential("k1").agreement is None
        store.put_agreement(agreement("a-1"))
    with sqlite3.connect(layout_2_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    with open_storage(uri) as again:  # a second opening finds nothing to do
        assert again.list_agreements("school-a") == [agreement("a-1")]
    assert "agreement" in columns(layout_2_file)


def test_an_interrupted_layout_3_step_leaves_the_file_as_it_was(layout_2_file, monkeypatch):
    import storage.sqlite.credentials

    real = storage.sqlite.credentials.add_agreement_column

    def crash(conn):
        real(conn)
        raise KeyboardInterrupt  # the process stopped after the column was added

    monkeypatch.setattr(storage.sqlite.credentials, "add_agreement_column", crash)
    with pytest.raises(KeyboardInterrupt):
        open_storage(f"sqlite:///{layout_2_file}")
    assert "agreement" not in columns(layout_2_file)
    with sqlite3.connect(layout_2_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        assert "agreements" not in tables
    monkeypatch.undo()
    with open_storage(f"sqlite:///{layout_2_file}") as store:
        assert store.get_credential("k1").agreement is None
