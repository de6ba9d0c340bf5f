"""Alembic environment: runs migrations on the URL (or connection) given by jiesu.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from jiesu.db.engine import is_sqlite, make_engine
from jiesu.db.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)  # type: ignore[arg-type]
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migration environment")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run_on(conn)
    engine.dispose()


def _run_on(connection: Connection) -> None:
    url = str(connection.engine.url)
    sqlite = is_sqlite(url)
    if sqlite:
        # A batch migration rebuilds a table (create copy, drop old): with foreign keys on,
        # dropping a referenced table fails. Off for the migration, checked afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()  # end the implicit transaction so Alembic's own one commits
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
        if broken:
            raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")


run()
