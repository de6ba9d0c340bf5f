"""`jiesu import FILE --mapping NAME_OR_YAML`: bulk import of history."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from jiesu.clikit import console, err_console, fail, settings
from jiesu.db.engine import make_engine, make_sessionmaker
from jiesu.errors import JiesuError
from jiesu.intake.importer.mapping import builtin_names, load_mapping
from jiesu.intake.importer.service import import_file
from jiesu.kit.clock import SystemClock


def import_cmd(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV (.gz), XLSX, JSONL or JSON"
    ),
    mapping: str = typer.Option(
        ..., "--mapping", "-m", help=f"built-in ({', '.join(builtin_names())}) or a YAML file"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="check every row, load nothing"),
    encoding: str | None = typer.Option(None, help="CSV encoding (default: detect UTF-8/GB18030)"),
    rejects: Path | None = typer.Option(None, help="where to write rejected rows (CSV)"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Import historical requests; re-running the same file adds nothing."""
    s = settings()
    try:
        m = load_mapping(mapping)
    except JiesuError as exc:
        fail(exc.message)
    rejects_path = rejects or s.data_dir / "imports" / f"{file.name}.rejects.csv"
    engine = make_engine(s.db_url)
    columns = (
        TextColumn("importing {task.fields[name]}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows · {task.fields[rate]} rows/s"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=err_console, disable=as_json) as bar:
            task = bar.add_task("import", total=None, name=file.name, rate="…")

            def tick(done: int) -> None:
                elapsed = bar.tasks[0].elapsed or 0
                bar.update(task, completed=done, rate=f"{done / elapsed:,.0f}" if elapsed else "…")

            report = import_file(
                make_sessionmaker(engine),
                file,
                m,
                clock=SystemClock(),
                rejects_path=rejects_path,
                encoding=encoding,
                dry_run=dry_run,
                progress=tick,
            )
    except JiesuError as exc:
        fail(exc.message)
    finally:
        engine.dispose()
    if as_json:
        console.print_json(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    verb = "would load" if dry_run else "loaded"
    console.print(
        f"{file.name}: read {report.read:,} rows in {report.seconds:.1f} s "
        f"({report.rows_per_s:,.0f} rows/s); {verb} {report.loaded:,}, "
        f"already present {report.present:,}, rejected {report.rejected:,}"
    )
    if report.rejected:
        console.print(f"rejected rows with line, column and reason: {report.rejects_path}")
    for label, key in (
        ("created categories", "created_categories"),
        ("created units", "created_units"),
    ):
        items = report.summary.get(key) or []
        if items:
            shown = "; ".join(items[:10]) + (
                f"; … {len(items) - 10} more" if len(items) > 10 else ""
            )
            console.print(f"{label} ({len(items)}): {shown}")
    unmatched = report.summary.get("unmatched_areas") or {}
    if unmatched:
        console.print(
            f"areas not found in the city (left empty): {', '.join(list(unmatched)[:10])}"
        )
