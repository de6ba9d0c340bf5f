"""`jiesu users …`: create users and issue API tokens."""

from __future__ import annotations

import typer
from sqlalchemy import select

from jiesu.clikit import console, fail, unit_of_work
from jiesu.kit.clock import utcnow
from jiesu.people.models import ROLES, User
from jiesu.people.service import create_user, issue_token

app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    username: str,
    role: str = typer.Option(..., help=f"one of: {', '.join(ROLES)}"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="at least 8 characters"
    ),
    unit: str | None = typer.Option(None, help="handling unit code (required for handlers)"),
    name: str = typer.Option("", help="display name"),
) -> None:
    """Create a user with one role."""
    with unit_of_work() as session:
        create_user(
            session,
            username=username,
            role=role,
            password=password,
            unit=unit,
            display_name=name,
            now=utcnow(),
        )
    console.print(f"created {role} {username}")


@app.command("token")
def token(username: str, name: str = typer.Option("cli", help="what the token is for")) -> None:
    """Issue a non-expiring API token for a user (printed once; only its hash is stored)."""
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"no user {username!r}")
        tok = issue_token(session, user, now=utcnow(), name=name)
    console.print(tok)


@app.command("list")
def list_users() -> None:
    """List users and their roles."""
    with unit_of_work() as session:
        for u in session.scalars(select(User).order_by(User.role, User.username)):
            unit = f" @ {u.unit.name}" if u.unit else ""
            console.print(f"{u.username:20} {u.role:11}{unit}")
