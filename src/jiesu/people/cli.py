"""`jiesu users …`: create users and issue API tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import typer
from sqlalchemy import select

from jiesu.clikit import console, fail, unit_of_work
from jiesu.errors import BadInput
from jiesu.kit.clock import utcnow
from jiesu.people import second_factor
from jiesu.people.models import ROLES, User
from jiesu.people.service import create_user, issue_token, set_area

app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    username: str,
    role: str = typer.Option(..., help=f"one of: {', '.join(ROLES)}"),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, help="at least 8 characters"
    ),
    unit: str | None = typer.Option(None, help="handling unit code (required for handlers)"),
    area: str | None = typer.Option(
        None, help="area code: keep a supervisor or analyst to this district (or street)"
    ),
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
            area=area,
            display_name=name,
            now=utcnow(),
        )
    console.print(f"created {role} {username}")


@app.command("token")
def token(
    username: str,
    name: str = typer.Option("cli", help="what the token is for"),
    scope: list[str] = typer.Option(
        [],
        "--scope",
        help="limit the token, e.g. requests:write or *:read (repeatable); none: all the role may",
    ),
    expires: str = typer.Option(
        "", help="lifetime such as 90d or 12h; empty: the token never expires"
    ),
) -> None:
    """Issue an API token for a user (printed once; only its hash is stored)."""
    ttl = _lifetime(expires) if expires else None
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"no user {username!r}")
        try:
            tok = issue_token(
                session, user, now=utcnow(), name=name, ttl=ttl, scopes=" ".join(scope) or None
            )
        except BadInput as exc:
            fail(f"--scope: {exc.message}")
    console.print(tok)


def _lifetime(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+)([dh])", text.strip())
    if m is None or int(m[1]) == 0:
        fail(f"--expires: {text!r} is not a lifetime; write e.g. 90d or 12h")
    n = int(m[1])
    return timedelta(days=n) if m[2] == "d" else timedelta(hours=n)


@app.command("scope")
def scope(
    username: str,
    area: str | None = typer.Option(None, help="area code the account is kept to"),
    city: bool = typer.Option(False, "--city", help="give the account the whole city again"),
) -> None:
    """Keep a supervisor or analyst to one district (or street), or give them the city."""
    if (area is None) == (not city):
        fail("give either --area CODE or --city")
    with unit_of_work() as session:
        set_area(session, username, None if city else area)
    console.print(f"{username}: {'the whole city' if city else area}", highlight=False)


@app.command("second-factor-reset")
def second_factor_reset(username: str) -> None:
    """Take away a user's second factor (a lost phone): the next sign-in needs only the
    password, and a role that must have one is asked to enrol again."""
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"no user {username!r}")
        second_factor.reset(user)
    console.print(f"second factor of {username} removed")


@app.command("list")
def list_users() -> None:
    """List users and their roles."""
    with unit_of_work() as session:
        for u in session.scalars(select(User).order_by(User.role, User.username)):
            unit = f" @ {u.unit.name}" if u.unit else ""
            console.print(f"{u.username:20} {u.role:11}{unit}")
