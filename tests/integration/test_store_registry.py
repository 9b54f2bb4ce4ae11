"""The fleet store and kiosk registry on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from kiosk.protocol.errors import UsageError
from server.broker.registry import KioskRegistry, RegistryError
from server.store import open_store


def test_migrations_create_the_schema_and_are_idempotent(store_url: str) -> None:
    store = open_store(store_url)
    assert "kiosks" in inspect(store.engine).get_table_names()
    store.dispose()
    again = open_store(store_url)  # a second server process starting: nothing to do
    assert "alembic_version" in inspect(again.engine).get_table_names()
    again.dispose()


def test_enrol_list_revoke_reenrol(store_url: str) -> None:
    store = open_store(store_url)
    reg = KioskRegistry(store)
    reg.add("lb-01", "lao-bao", ("quang-tri", "quang-tri"), now=1000.0)
    reg.add("lb-02", "lao-bao", (), now=1001.0)
    assert [k.id for k in reg.list()] == ["lb-01", "lb-02"]
    assert reg.get("lb-01").groups == ("quang-tri",)  # type: ignore[union-attr]

    with pytest.raises(RegistryError, match="already enrolled"):
        reg.add("lb-01", "lao-bao", (), now=1002.0)

    revoked = reg.revoke("lb-01", now=1003.0)
    assert not revoked.active
    assert [k.id for k in reg.list()] == ["lb-02"]
    assert [k.id for k in reg.list(include_revoked=True)] == ["lb-01", "lb-02"]
    with pytest.raises(RegistryError, match="not enrolled"):
        reg.revoke("lb-01", now=1004.0)

    again = reg.add("lb-01", "cha-lo", (), now=1005.0)
    assert again.active and reg.get("lb-01").gate == "cha-lo"  # type: ignore[union-attr]
    store.dispose()


@pytest.mark.parametrize("bad", ["LB-01", "lb 01", "", "x" * 64, "-lb"])
def test_bad_ids_are_refused_with_a_clear_error(tmp_path: object, bad: str) -> None:
    store = open_store(f"sqlite:///{tmp_path}/fleet.db")
    with pytest.raises(UsageError, match="lowercase letters"):
        KioskRegistry(store).add(bad, "lao-bao", (), now=1.0)
    with pytest.raises(UsageError, match="reserved"):
        KioskRegistry(store).add("lb-09", "all", (), now=1.0)
    store.dispose()
