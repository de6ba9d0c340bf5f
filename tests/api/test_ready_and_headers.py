"""Readiness says whether the database answers at the expected schema; every answer, page or
API, carries the security headers."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from jiesu.app import create_app
from jiesu.config import Settings
from jiesu.db.migrate import head_revision

from apiclient import Api


def test_ready_and_security_headers(api: Api) -> None:
    r = api.client.get("/api/v1/ready")
    assert r.status_code == 200 and r.json() == {"status": "ready", "schema": head_revision()}
    for path in ("/api/v1/health", "/", "/login", "/static/charts.js"):
        h = api.client.get(path).headers
        assert h["x-content-type-options"] == "nosniff", path
        assert h["x-frame-options"] == "DENY" and h["referrer-policy"] == "same-origin"
        assert "frame-ancestors 'none'" in h["content-security-policy"]


def test_unreachable_database_is_not_ready(tmp_path: Path) -> None:
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2"
    app = create_app(Settings(database_url=url, data_dir=tmp_path), schedule=False)
    with TestClient(app) as client:
        r = client.get("/api/v1/ready")
        assert r.status_code == 503 and "database unreachable" in r.json()["reason"]
        assert client.get("/api/v1/health").status_code == 200


def test_old_schema_is_not_ready(tmp_path: Path) -> None:
    from jiesu.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0006")
    app = create_app(Settings(database_url=url, data_dir=tmp_path), schedule=False)
    with TestClient(app) as client:
        r = client.get("/api/v1/ready")
    assert r.status_code == 503 and "jiesu db upgrade" in r.json()["reason"]
