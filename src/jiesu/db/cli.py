"""`jiesu db …`: schema migrations."""

from __future__ import annotations

import typer

from jiesu.clikit import console, settings
from jiesu.db.migrate import current, upgrade
from jiesu.privacy.keys import ensure_data_key

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Create or migrate the database schema to the latest version."""
    s = settings()
    if (made := ensure_data_key(s)) is not None:
        console.print(f"created the data key file {made}: back it up with the database")
    upgrade(s.db_url, revision)
    console.print(f"database at revision {current(s.db_url)}")


@app.command("current")
def current_cmd() -> None:
    """Show the schema revision of the database."""
    console.print(current(settings().db_url) or "empty database (run `jiesu db upgrade`)")
