"""Fixtures of the dashboard tests: a seeded server data folder (webkit.py),
the app on it with a fixed clock, and TestClients signed in with a role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from webkit import PASSWORD, T0, Site, make_site, seed_fleet

from server.web.app import create_app


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = make_site(tmp_path)
    seed_fleet(s, T0)
    for role in ("viewer", "publisher", "admin"):
        s.user(role, role)
    yield s
    s.close()


@pytest.fixture
def app(site: Site) -> FastAPI:
    return create_app(site.cfg, store=site.store, clock=lambda: T0)


SignIn = Callable[..., TestClient]


@pytest.fixture
def sign_in(app: FastAPI) -> Iterator[SignIn]:
    """sign_in("viewer") -> a TestClient with that user's session cookie."""
    clients: list[TestClient] = []

    def make(name: str | None = None, **kwargs: Any) -> TestClient:
        client = TestClient(app, follow_redirects=False, **kwargs)
        clients.append(client)
        if name is not None:
            r = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/"})
            assert r.status_code == 303, r.text
        return client

    yield make
    for client in clients:
        client.close()
