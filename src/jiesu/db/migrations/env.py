"""Alembic environment: runs migrations on the URL (or connection) given by jiesu.db.migrate."""

from __future__ import annotations

from alembic import context

from jiesu.db.engine import is_sqlite, make_engine
from jiesu.db.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migration environment")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run_on(conn)
    engine.dispose()


def _run_on(connection: object) -> None:
    url = str(connection.engine.url)  # type: ignore[attr-defined]
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=is_sqlite(url),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
