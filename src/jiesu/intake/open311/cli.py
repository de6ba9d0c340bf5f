"""`jiesu open311 …`: api keys for Open311 client systems."""

from __future__ import annotations

import typer

from jiesu.city.models import HandlingUnit
from jiesu.clikit import console, err_console, unit_of_work
from jiesu.intake.open311.keys import create_key, list_keys, revoke_key, set_rate
from jiesu.kit.clock import utcnow

app = typer.Typer(help="The Open311 GeoReport v2 channel.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys of client systems (only their SHA-256 is stored).")
app.add_typer(keys_app, name="keys", no_args_is_help=True)


@keys_app.command("create")
def create(
    name: str = typer.Argument(..., help="who the key is for, e.g. fixmystreet or a unit system"),
    unit: str | None = typer.Option(
        None, help="handling unit code: the key then posts request updates as that unit"
    ),
    rate: int | None = typer.Option(
        None, help="calls per minute this client may make (default: JIESU_OPEN311_RATE_PER_MINUTE)"
    ),
) -> None:
    """Create a key and print it once: it cannot be shown again."""
    with unit_of_work() as session:
        row, key = create_key(session, name, now=utcnow(), unit=unit, rate_per_minute=rate)
        bound = f" for unit {unit}" if row.unit_id else ""
    # The key alone on stdout, so a script can capture it; the advice goes to stderr.
    typer.echo(key)
    err_console.print(f"api key {name!r}{bound} created; store it now, it is not shown again")


@keys_app.command("list")
def list_all() -> None:
    """List keys: name, unit, created, last used, revoked (never the keys themselves)."""
    with unit_of_work() as session:
        for k in list_keys(session):
            unit = session.get_one(HandlingUnit, k.unit_id).code if k.unit_id else "-"
            used = k.last_used_at.isoformat(timespec="minutes") if k.last_used_at else "never"
            state = "revoked" if k.revoked else "active"
            created = k.created_at.isoformat(timespec="minutes")
            rate = f"{k.rate_per_minute}/min" if k.rate_per_minute else "default"
            console.print(
                f"{k.name:30} {unit:16} {state:8} {rate:>10}  created {created}  used {used}",
                highlight=False,
            )


@keys_app.command("rate")
def rate_cmd(
    name: str,
    per_minute: str = typer.Argument(..., help="calls per minute, or 'default'"),
) -> None:
    """Set a client's own rate limit, or return it to the server's default."""
    if per_minute != "default" and not per_minute.isdigit():
        err_console.print(f"[bold red]error:[/] per_minute: {per_minute!r} is not a number")
        raise typer.Exit(1)
    rate = None if per_minute == "default" else int(per_minute)
    with unit_of_work() as session:
        set_rate(session, name, rate)
    console.print(f"api key {name!r}: {per_minute} calls a minute", highlight=False)


@keys_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke a key: every request with it is refused from now on."""
    with unit_of_work() as session:
        revoke_key(session, name)
    console.print(f"api key {name!r} revoked", highlight=False)
