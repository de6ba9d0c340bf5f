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
from jiesu.clikit import console, err_console, fail, settings, unit_of_work
from jiesu.dispatch.catalogue import push_down_warnings, read_catalogue
from jiesu.dispatch.cli_router import cv as router_cv
from jiesu.dispatch.cli_router import evaluate as router_eval
from jiesu.dispatch.cli_router import train as router_train
from jiesu.dispatch.directory import directory
from jiesu.dispatch.engine import Case, decide
from jiesu.dispatch.learning import (
    activate_router,
    deactivate_router,
    retrain,
    router_for,
    router_versions,
)
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
    help="Dispatch (派单): the catalogue, its dry run, previews, return rates, the learned router.",
    no_args_is_help=True,
)
rules_app = typer.Typer(help="The dispatch catalogue (派单目录): versions in the database.")
app.add_typer(rules_app, name="rules")
router_cmds = typer.Typer(help="The learned router: retrain from answered requests, versions.")
app.add_typer(router_cmds, name="router")
# Train and measure a router on any labelled file (docs/dispatch.md, "The learned router").
app.command("train")(router_train)
app.command("eval")(router_eval)
app.command("cv")(router_cv)

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
        d = directory(session)
        cat = read_catalogue(raw, d)
        warnings = push_down_warnings(cat, d)
        if check:
            console.print(f"{path.name}: {len(cat.rules)} rules, no problems")
        else:
            row = save_catalogue(
                session, raw, by="cli", source=str(path.resolve()), note=note, now=utcnow()
            )
            console.print(f"catalogue version {row.version} is active: {len(row.rules)} rules")
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)


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
        warnings = push_down_warnings(cat, directory(session))
        result = replay(
            session,
            cat,
            active_catalogue(session),
            city_context(session),
            since=start,
            progress=lambda n: err_console.print(f"replayed {n} requests", highlight=False),
        )
    result["warnings"] = warnings
    if as_json:
        _print(result)
        return
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
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
        decision = decide(active_catalogue(session), d, case, router=router_for(session, d))
        _print(decision.as_payload())


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


@router_cmds.command("retrain")
def retrain_router(
    activate_when: str = typer.Option(
        "if-better", "--activate", help="if-better (default) | always | never"
    ),
    real_only: bool = typer.Option(False, "--real-only", help="leave synthetic requests out"),
    as_json: bool = AS_JSON,
) -> None:
    """Learn which unit answers what from requests units replied to (text, category, place)."""
    s = settings()
    with unit_of_work(s) as session:
        result = retrain(
            session,
            data_dir=s.data_dir,
            now=utcnow(),
            activate=activate_when,
            actor="cli",
            include_synthetic=not real_only,
            progress=lambda m: err_console.print(m, highlight=False),
        )
    if as_json:
        _print(result)
        return
    h = result["holdout"]
    console.print(
        f"router {result['version']}: top-1 {h['top1_accuracy']:.3f}, top-3 "
        f"{h['top3_accuracy']:.3f}, macro-F1 {h['macro_f1']:.3f} on the newest {h['n']} "
        f"requests; {'active' if result['activated'] else 'not activated'}"
    )


@router_cmds.command("list")
def list_routers(as_json: bool = AS_JSON) -> None:
    """Router versions, the active one marked."""
    with unit_of_work() as session:
        rows: list[dict[str, Any]] = [
            {
                "version": r.version,
                "active": r.active,
                "n": r.n,
                "metrics": r.metrics,
                "trained_at": r.trained_at.isoformat(),
            }
            for r in router_versions(session)
        ]
    if as_json:
        _print(rows)
        return
    for r in rows:
        top1 = ((r["metrics"] or {}).get("holdout") or {}).get("top1_accuracy")
        console.print(f"{'*' if r['active'] else ' '} {r['version']}  n={r['n']}  top-1={top1}")


@router_cmds.command("activate")
def activate_router_cmd(version: str = typer.Argument(...)) -> None:
    """Use this router version for dispatch."""
    with unit_of_work() as session:
        activate_router(session, version, now=utcnow())
    console.print(f"router {version} is active")


@router_cmds.command("deactivate")
def deactivate_router_cmd() -> None:
    """Dispatch without a learned router (catalogue and dispatchers only)."""
    with unit_of_work() as session:
        n = deactivate_router(session)
    console.print(f"{n} router version(s) deactivated")
