"""`jiesu audit models`: the algorithm audit, printed and written as a dated report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from jiesu.algoaudit.report import COMPONENTS, audits_dir, run_audit, write_report
from jiesu.clikit import console, err_console, settings, unit_of_work
from jiesu.kit.clock import utcnow


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


def _show(report: dict[str, Any]) -> None:
    t = Table("component", "evaluated", "agrees", "95 % CI", "overridden", "ECE", "flags")
    for key, zh, en in COMPONENTS:
        c = report["components"][key]
        if c is None:
            t.add_row(f"{zh} {en}", "not active", "", "", "", "", "")
            continue
        o, ov = c["overall"], c.get("overrides") or {}
        ci = o["ci"]
        t.add_row(
            f"{zh} {en}" + (" (in-sample)" if c.get("in_sample") else ""),
            f"{o['n']:,}",
            _pct(o["rate"]),
            f"{_pct(ci[0])} – {_pct(ci[1])}" if ci else "—",
            f"{_pct(ov.get('share'))} of {ov.get('automatic', 0):,}"
            if ov.get("share") is not None
            else "—",
            str((c.get("calibration") or {}).get("ece", "—")),
            str(len(c["flags"])),
        )
    console.print(t)
    for f in report["flags"]:
        console.print(
            f"[red]flag[/] {f['component']} · {f['dimension']} {f['name']}: {_pct(f['rate'])} of "
            f"{f['n']} ({_pct(f['difference'])} against the rest, q = {f['q_value']})",
            highlight=False,
        )
    gap = (report["components"]["classifier"] or {}).get("outside_labels") or {}
    if gap.get("n"):
        names = ", ".join(f"{g['name']} {g['n']}" for g in gap["by_category"][:8])
        console.print(
            f"classifier: {gap['n']:,} requests ({_pct(gap['share'])}) are in categories it has "
            f"no label for ({names}); left out of its rates"
        )
    drift = (report["components"]["classifier"] or {}).get("drift")
    if drift:
        console.print(
            f"classifier drift ({drift['reference']} → {drift['current']}): category mix PSI "
            f"{drift['category_mix']['psi']} ({drift['category_mix']['reading']}), text length "
            f"PSI {drift['text_length']['psi']} ({drift['text_length']['reading']}), vocabulary "
            f"coverage {_pct(drift['vocabulary']['reference_coverage'])} → "
            f"{_pct(drift['vocabulary']['current_coverage'])}"
        )


def audit_models(
    as_json: bool = typer.Option(False, "--json", help="print the whole report as JSON"),
    out: Path | None = typer.Option(
        None, "--out", help="folder for the report files (default: <data dir>/audits)"
    ),
) -> None:
    """Audit the classifier, place extractor, urgency scorer and dispatch: accuracy per
    category, district and channel, calibration, drift, overrides, groups served worse."""
    s = settings()
    with unit_of_work(s) as session:
        err_console.print("reading requests and re-scoring the active models …")
        report = run_audit(session, now=utcnow())
    json_path, html_path = write_report(report, out or audits_dir(s.data_dir))
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False))
    else:
        _show(report)
    err_console.print(f"report written: {html_path} and {json_path}", highlight=False)
