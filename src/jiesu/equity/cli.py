"""`jiesu equity`: outcomes by district, channel and caller group, with intervals."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import typer
from rich.table import Table

from jiesu.analytics.warehouse import Warehouse
from jiesu.city.service import city_context
from jiesu.clikit import console, err_console, settings, unit_of_work
from jiesu.equity.service import equity_report
from jiesu.kit.clock import utcnow

DEFAULT_DAYS = 365


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _share(s: dict[str, Any]) -> str:
    if s["rate"] is None:
        return "—"
    return f"{_pct(s['rate'])} [{_pct(s['ci'][0])}–{_pct(s['ci'][1])}] n={s['n']}"


def _show(report: dict[str, Any], dims: list[str]) -> None:
    p = report["period"]
    console.print(
        f"equity {p['from']} – {p['to']}: {report['requests']:,} requests "
        f"(warehouse refreshed {report['refreshed_at']}); caller groups "
        + ("recorded" if report["caller_groups_recorded"] else "not recorded by this city")
    )
    for dim in dims:
        rows = report["dimensions"].get(dim)
        if not rows:
            continue
        t = Table(
            dim,
            "n",
            "reply h, median [95 %]",
            "resolved",
            "satisfied",
            "returned",
            "late",
            title=dim,
        )
        for r in rows[:25]:
            h = r["reply_hours"]
            flagged = {o for o, x in r["tests"].items() if x["flag"]}
            t.add_row(
                f"{r['name']}" + (" [red]⚑[/]" if flagged else ""),
                f"{r['n']:,}",
                f"{h['median']} [{h['ci'][0]}–{h['ci'][1]}]" if h["ci"] else str(h["median"]),
                *(
                    _share(r[o]) + (" ⚑" if o in flagged else "")
                    for o in ("resolved", "satisfied", "returned", "late")
                ),
            )
        console.print(t)
    for f in report["flags"]:
        console.print(
            f"[red]flag[/] {f['dimension']} {f['name']}: {f['outcome']} worse than the rest "
            f"(q = {f['q_value']})",
            highlight=False,
        )


def equity_cmd(
    first: str | None = typer.Option(None, "--from", help="first day (default: a year ago)"),
    last: str | None = typer.Option(None, "--to", help="last day (default: today)"),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="bring the warehouse up to date first"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the whole report as JSON"),
) -> None:
    """Compare time to reply, resolution, satisfaction, returns and lateness across
    districts, channels and caller groups, with confidence intervals and tests."""
    s = settings()
    wh = Warehouse(s.data_dir / "warehouse")
    with unit_of_work(s) as session:
        if refresh:
            err_console.print("refreshing the warehouse …")
            wh.refresh(session, now=utcnow())
        today = utcnow().astimezone(city_context(session).tz).date()
        try:
            to_day = date.fromisoformat(last) if last else today
            from_day = (
                date.fromisoformat(first) if first else to_day - timedelta(days=DEFAULT_DAYS - 1)
            )
        except ValueError as exc:
            raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from None
        report = equity_report(session, wh, from_day, to_day)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
        return
    _show(report, ["district", "channel_family", "channel", "caller_group"])
