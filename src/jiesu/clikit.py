"""What every CLI command shares: settings, sessions, printing and failing clearly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from jiesu.config import Settings
from jiesu.db.engine import make_engine, make_sessionmaker, session_scope
from jiesu.errors import JiesuError
from jiesu.logs import configure_logging
from jiesu.privacy.keys import use_settings

console = Console()
err_console = Console(stderr=True)


def settings() -> Settings:
    s = Settings()
    configure_logging("WARNING" if s.log_level == "INFO" else s.log_level, json=s.log_json)
    use_settings(s)  # the data keys of this installation
    return s


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def unit_of_work(s: Settings | None = None) -> Iterator[Session]:
    """A committed transaction; domain errors become a clear message and exit code 1."""
    s = s or settings()
    engine = make_engine(s.db_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield session
    except JiesuError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
