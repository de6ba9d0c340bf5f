"""`jiesu dispatch`: the catalogue (import, export, versions), the dry run, a preview for one
text, return and dispute rates."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.table import Table

from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, fail, unit_of_work
from jiesu.dispatch.catalogue import read_catalogue
from jiesu.dispatch.directory import directory
from jiesu.dispatch.engine import Case, decide
from jiesu.dispatch.replay import replay
from jiesu.dispatch.service import (
    activate_version,
    active_catalogue,
    get_version,
    save_catalogue,
    versions,
)
from jiesu.dispatch.stats import dispatch_stats
from jiesu.kit.clock import utcnow

app = typer.Typer(
    help="Dispatch (派单): the catalogue of rules, its dry run, previews and return rates.",
    no_args_is_help=True,
)
rules_app = typer.Typer(help="The dispatch catalogue (派单目录): versions in the database.")
app.add_typer(rules_app, name="rules")

AS_JSON = typer.Option(False, "--json", help="print JSON")
SINCE = typer.Option(None, "--since", help="only requests of the last N days, e.g. 30d")


def _read_yaml(path: Path, name: str) -> Any:
    if not path.is_file():
        fail(f"{name}: {path} does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        fail(f"{path.name} is not readable YAML: {exc}")


def _days(since: str | None) -> timedelta | None:
    if since is None:
        return None
    m = re.fullmatch(r"\s*(\d{1,5})\s*d\s*", since)
    if m is None or int(m.group(1)) == 0:
        fail(f"--since: {since!r} is not a number of days like 30d")
    return timedelta(days=int(m.group(1)))


def _print(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@rules_app.command("import")
def import_rules(
    path: Path = typer.Argument(..., help="dispatch.yaml: settings and rules"),
    note: str = typer.Option("", "--note", help="why this version (kept with it)"),
    check: bool = typer.Option(False, "--check", help="only check the file; store nothing"),
) -> None:
    """Check a catalogue file against the city and store it as the new active version."""
    raw = _read_yaml(path, "PATH")
    with unit_of_work() as session:
        if check:
            cat = read_catalogue(raw, directory(session))
            console.print(f"{path.name}: {len(cat.rules)} rules, no problems")
            return
        row = save_catalogue(
            session, raw, by="cli", source=str(path.resolve()), note=note, now=utcnow()
        )
        console.print(f"catalogue version {row.version} is active: {len(row.rules)} rules")


@rules_app.command("export")
def export_rules(
    version: int | None = typer.Option(None, "--version", help="default: the active one"),
    out: Path | None = typer.Option(None, "--out", help="write to this file (default: stdout)"),
) -> None:
    """Write a catalogue version as YAML (the form `import` reads)."""
    with unit_of_work() as session:
        row = get_version(session, version)
        if row is None:
            fail("no such catalogue version" if version else "no catalogue is loaded yet")
        text = yaml.safe_dump(
            {"settings": row.settings, "rules": row.rules}, allow_unicode=True, sort_keys=False
        )
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote version {row.version} to {out}")


@rules_app.command("list")
def list_versions(as_json: bool = AS_JSON) -> None:
    """Catalogue versions, the active one marked."""
    with unit_of_work() as session:
        rows = [
            {
                "version": r.version,
                "active": r.active,
                "rules": len(r.rules),
                "created_at": r.created_at.isoformat(),
                "created_by": r.created_by,
                "note": r.note,
                "source": r.source,
            }
            for r in versions(session)
        ]
    if as_json:
        _print(rows)
        return
    table = Table("version", "active", "rules", "created", "by", "note")
    for r in rows:
        table.add_row(
            str(r["version"]),
            "*" if r["active"] else "",
            str(r["rules"]),
            str(r["created_at"])[:19],
            str(r["created_by"]),
            str(r["note"]),
        )
    console.print(table)


@rules_app.command("activate")
def activate(version: int = typer.Argument(..., help="a version from `rules list`")) -> None:
    """Put an earlier (or later) version back in force."""
    with unit_of_work() as session:
        activate_version(session, version)
    console.print(f"catalogue version {version} is active")


@app.command("test-rules")
def test_rules(
    rules: Path = typer.Option(..., "--rules", help="the catalogue file to try"),
    since: str | None = SINCE,
    as_json: bool = AS_JSON,
) -> None:
    """Dry run: replay a catalogue over history; what would go elsewhere, which rules never fire."""
    raw = _read_yaml(rules, "--rules")
    days = _days(since)
    with unit_of_work() as session:
        cat = read_catalogue(raw, directory(session))
        start = utcnow() - days if days else None
        result = replay(
            session,
            cat,
            active_catalogue(session),
            city_context(session),
            since=start,
            progress=lambda n: err_console.print(f"replayed {n} requests", highlight=False),
        )
    if as_json:
        _print(result)
        return
    console.print(
        f"{result['n']} requests: {result['decided']} decided ({result['fallback']} by the "
        f"district fallback), {result['undecided']} left to a dispatcher; "
        f"{result['elsewhere_than_actual']} would go elsewhere than they went; "
        f"{result['changed_vs_active']} differ from the active catalogue"
    )
    for m in result["moves"][:10]:
        console.print(f"  {m['count']:>6}  {m['from_name']} → {m['to_name']}  (rule {m['rule']})")
    if result["never_fired"]:
        console.print(f"rules that never fire: {', '.join(result['never_fired'])}")


@app.command("preview")
def preview(
    text: str = typer.Option(..., "--text", help="the request's text"),
    category: str | None = typer.Option(None, "--category", help="category code"),
    area: str | None = typer.Option(None, "--area", help="area code"),
    urgency: str = typer.Option("general", "--urgency"),
    channel: str = typer.Option("phone", "--channel"),
) -> None:
    """What the active catalogue would do with one request (JSON)."""
    with unit_of_work() as session:
        d = directory(session)
        for name, value, known in (
            ("--category", category, d.category_paths),
            ("--area", area, d.area_paths),
        ):
            if value is not None and value not in known:
                fail(f"{name}: unknown code {value!r}")
        now = utcnow().astimezone(city_context(session).tz)
        case = Case(text, category, area, urgency, channel, now.hour * 60 + now.minute)
        _print(decide(active_catalogue(session), d, case).as_payload())


@app.command("stats")
def stats(since: str | None = SINCE, as_json: bool = AS_JSON) -> None:
    """Return and dispute rates per rule, per unit and per way of choosing."""
    days = _days(since)
    with unit_of_work() as session:
        result = dispatch_stats(session, since=utcnow() - days if days else None)
    if as_json:
        _print(result)
        return
    table = Table("rule", "dispatched", "returned", "return rate", "disputed")
    for r in result["by_rule"]:
        rate = r["return_rate"]
        table.add_row(
            r["rule"],
            str(r["dispatched"]),
            str(r["returned"]),
            f"{rate:.1%}" if rate is not None else "",
            str(r["disputed"]),
        )
    console.print(table)
