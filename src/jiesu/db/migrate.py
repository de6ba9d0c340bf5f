"""Run Alembic migrations programmatically (`jiesu db upgrade`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config

from jiesu.db.engine import make_engine, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser treats % as interpolation; URLs with escaped passwords contain it.
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    if url.startswith("sqlite"):
        # Creating the engine makes sure the SQLite file's folder exists before Alembic connects.
        path = make_engine(url).url.database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return rev


@cache
def head_revision() -> str | None:
    """The newest migration this version ships (what a ready database must be at)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@cache
def known_revisions() -> frozenset[str]:
    """Every revision this version's migrations know (a database at another one is newer)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return frozenset(r.revision for r in script.walk_revisions())
