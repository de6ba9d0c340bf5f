"""``jiesu nlp retrain`` and ``jiesu nlp models …``: the classifiers intake uses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from jiesu.clikit import console, settings, unit_of_work
from jiesu.kit.clock import utcnow
from jiesu.nlp import registry
from jiesu.nlp.cliout import say as _say
from jiesu.nlp.model import TextClassifier
from jiesu.nlp.tables import CLASSIFIER_KINDS
from jiesu.nlp.training import MIN_HISTORY, MIN_PER_CLASS, retrain

models_app = typer.Typer(
    help="Trained classifier versions: list, import, activate, deactivate.",
    no_args_is_help=True,
)
KIND = typer.Option("category", "--kind", help=f"classifier kind: {', '.join(CLASSIFIER_KINDS)}")


def retrain_cmd(
    since: datetime | None = typer.Option(
        None, "--since", help="only requests received on or after this date (ISO)"
    ),
    min_history: int = typer.Option(MIN_HISTORY, "--min-history", min=10),
    min_per_class: int = typer.Option(MIN_PER_CLASS, "--min-per-class", min=2),
    activate: str = typer.Option(
        "if-better", "--activate", help="if-better (default), always or never"
    ),
    real_only: bool = typer.Option(
        False, "--real-only", help="leave out synthetic (demo) requests"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Train the category classifier on every confirmed or corrected category, compare it with
    what intake uses now on the newest 20%, and activate it if it is at least as good."""
    s = settings()
    with unit_of_work(s) as session:
        report = retrain(
            session,
            data_dir=s.data_dir,
            now=utcnow(),
            actor="cli",
            # A date without a zone is the city's local date.
            since=since.replace(tzinfo=s.tz) if since and since.tzinfo is None else since,
            include_synthetic=not real_only,
            min_history=min_history,
            min_per_class=min_per_class,
            activate=activate,
            progress=_say,
        )
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    cur, cand = report["current"], report["candidate"]
    console.print(
        f"trained on {report['n']} confirmed requests, {report['categories']} categories"
        f" ({len(report['dropped_categories'])} with too few examples left out)"
    )
    console.print(
        f"newest {report['holdout']['n']}: candidate macro-F1 {cand['macro_f1']:.3f}"
        f" top-3 {cand['top3_accuracy']:.3f}; current ({cur['kind']}) macro-F1"
        f" {cur['macro_f1']:.3f} top-3 {cur['top3_accuracy']:.3f}"
    )
    state = "activated" if report["activated"] else "saved, not activated"
    console.print(f"version {report['version']}: {state}")


@models_app.command("list")
def list_cmd(
    kind: str | None = typer.Option(None, "--kind"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every recorded version, newest first; the active one is marked."""
    with unit_of_work() as session:
        rows = [
            {
                "version": r.version,
                "kind": r.kind,
                "active": r.active,
                "n": r.n,
                "labels": len(r.labels),
                "trained_at": r.trained_at.isoformat(),
                "source": r.source,
                "metrics": r.metrics,
                "path": r.path,
            }
            for r in registry.versions(session, kind)
        ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        console.print("no trained versions: intake uses the keyword classifier")
    for r in rows:
        mark = "*" if r["active"] else " "
        metrics: dict[str, Any] = r["metrics"]  # type: ignore[assignment]
        f1 = (metrics.get("holdout") or metrics).get("macro_f1")
        score = f" macro-F1 {f1:.3f}" if isinstance(f1, float) else ""
        console.print(
            f"{mark} {r['version']}  {r['kind']:<8} n={r['n']:<7} {r['labels']} labels{score}"
            f"  {r['source']}"
        )


@models_app.command("import")
def import_cmd(
    model_dir: Path = typer.Argument(..., help="directory written by `jiesu nlp train`"),
    kind: str = KIND,
    activate: bool = typer.Option(False, "--activate", help="make it the active version"),
) -> None:
    """Copy a model trained from a file into the registry (its labels must be the taxonomy's
    category codes, unique names or name paths)."""
    s = settings()
    with unit_of_work(s) as session:
        model = TextClassifier.load(model_dir)
        row = registry.register(
            session,
            model,
            kind=kind,
            data_dir=s.data_dir,
            now=utcnow(),
            source=f"imported from {model_dir}",
            metrics={},
            actor="cli",
            activate=activate,
        )
        console.print(f"registered {row.version}{' (active)' if activate else ''}")


@models_app.command("activate")
def activate_cmd(version: str = typer.Argument(...)) -> None:
    """Make a recorded version the one intake uses."""
    with unit_of_work() as session:
        row = registry.activate_version(session, version, now=utcnow())
        console.print(f"{row.kind} classifier {row.version} is active")


@models_app.command("deactivate")
def deactivate_cmd(kind: str = KIND) -> None:
    """Stop using a trained classifier (category suggestions fall back to keywords)."""
    with unit_of_work() as session:
        n = registry.deactivate(session, kind)
    console.print(f"{kind}: {'deactivated' if n else 'no active version'}")
