"""``jiesu nlp duplicates``: clusters of near-duplicate requests in a file (an export, a
history to import), with their heat (how many reports each problem drew)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from jiesu.errors import BadInput
from jiesu.nlp.cliout import fail as _fail
from jiesu.nlp.cliout import say as _say
from jiesu.nlp.duplicates import THRESHOLD, WINDOW, DuplicateIndex
from jiesu.nlp.shingles import ShingleStats, shingles
from jiesu.nlp.textrows import TextRows, load_rows, parse_time

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


@dataclass(frozen=True)
class Row:
    key: str
    text: str
    at: datetime | None


def _rows(data: TextRows, time_col: str | None, key_col: str | None) -> tuple[list[Row], int]:
    """Rows in time order when there is a time column (the index looks backwards); rows whose
    time cannot be read are dropped and counted."""
    out: list[Row] = []
    bad_times = 0
    for i, text in enumerate(data.texts):
        key = data.columns[key_col][i] if key_col else f"line {data.lines[i]}"
        at = parse_time(data.columns[time_col][i]) if time_col else None
        if time_col and at is None:
            bad_times += 1
            continue
        out.append(Row(key or f"line {data.lines[i]}", text, at))
    if time_col:
        out.sort(key=lambda r: r.at or datetime.min)
    return out, bad_times


def _snippet(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat[:width] + ("…" if len(flat) > width else "")


def find_clusters(
    rows: list[Row], *, threshold: float, window: timedelta | None
) -> tuple[DuplicateIndex, list[list[str]]]:
    shingled = [shingles(r.text) for r in rows]
    index = DuplicateIndex(ShingleStats.fit(shingled), window=window, threshold=threshold)
    for r, items in zip(rows, shingled, strict=True):
        index.add(index.report(r.key, items, received_at=r.at))
    return index, [[str(k) for k in c] for c in index.clusters()]


def _cluster_doc(cluster: list[str], by_key: dict[str, Row], examples: int) -> dict[str, Any]:
    members = [by_key[k] for k in cluster]
    times = [m.at for m in members if m.at is not None]
    doc: dict[str, Any] = {
        "heat": len(cluster),
        "keys": cluster,
        "examples": [_snippet(m.text, 80) for m in members[:examples]],
    }
    if times:
        doc["first"] = min(times).isoformat(sep=" ")
        doc["last"] = max(times).isoformat(sep=" ")
    return doc


def _summary(
    rows: list[Row],
    index: DuplicateIndex,
    clusters: list[list[str]],
    *,
    top: int,
    examples: int,
    with_pairs: bool,
) -> dict[str, Any]:
    by_key = {r.key: r for r in rows}
    heats = [len(c) for c in clusters]
    result: dict[str, Any] = {
        "n": len(rows),
        "clusters": len(clusters),
        "rows_in_clusters": sum(heats),
        # Reports a dispatcher would not have to handle again if every cluster were merged.
        "merge_candidates": sum(heats) - len(heats),
        "pairs": len(index.pairs),
        "threshold": index.threshold,
        "window_days": index.window.total_seconds() / 86400 if index.window else None,
        "heat_histogram": {str(h): heats.count(h) for h in sorted(set(heats))},
        "largest": [_cluster_doc(c, by_key, examples) for c in clusters[:top]],
        "stop_shingles": index.stats.stop_list(20),
    }
    if with_pairs:
        result["pair_list"] = [
            {"a": a, "b": b, **hit.as_dict()}
            for a, b, hit in sorted(index.pairs, key=lambda p: -p[2].score)
        ]
    return result


def _print(result: dict[str, Any]) -> None:
    window = result["window_days"]
    print(
        f"{result['n']} rows, {result['clusters']} duplicate clusters holding "
        f"{result['rows_in_clusters']} rows ({result['merge_candidates']} could be merged), "
        f"{result['pairs']} pairs at score >= {result['threshold']:.2f}"
        + (f" within {window:g} days" if window else " (no time column: any time apart)")
    )
    print("clusters by heat: " + ", ".join(f"{h}×{n}" for h, n in result["heat_histogram"].items()))
    for i, c in enumerate(result["largest"], start=1):
        span = f"  {c['first']} → {c['last']}" if "first" in c else ""
        print(f"\n#{i} heat {c['heat']}{span}")
        for key, example in zip(c["keys"], c["examples"], strict=False):
            print(f"  {key}: {example}")
        if c["heat"] > len(c["examples"]):
            print(f"  … and {c['heat'] - len(c['examples'])} more")


@app.command("duplicates")
def duplicates(
    data: Path = typer.Option(..., "--data", help="CSV, XLSX or JSONL file of requests"),
    text_col: list[str] = typer.Option(..., "--text-col", help="text column; repeat to join"),
    time_col: str | None = typer.Option(None, "--time-col", help="column with the time"),
    key_col: str | None = typer.Option(None, "--key-col", help="id column (default: line)"),
    threshold: float = typer.Option(
        THRESHOLD, "--threshold", min=0.01, max=1.0, help="duplicate score to report"
    ),
    window_days: float = typer.Option(
        WINDOW.days, "--window-days", min=0.0, help="max days between duplicates (0: any)"
    ),
    top: int = typer.Option(10, "--top", min=0, help="largest clusters to show"),
    examples: int = typer.Option(3, "--examples", min=0, help="texts shown per cluster"),
    pairs: bool = typer.Option(False, "--pairs", help="list every pair in the JSON"),
    encoding: str | None = typer.Option(None, "--encoding", help="file encoding"),
    as_json: bool = typer.Option(False, "--json", help="print the figures as JSON"),
) -> None:
    """Find clusters of near-duplicate requests in a file and their heat."""
    others = [c for c in (time_col, key_col) if c]
    try:
        table = load_rows(data, text_col, others, encoding=encoding)
    except BadInput as exc:
        raise _fail(exc.message) from None
    rows, bad_times = _rows(table, time_col, key_col)
    if not rows:
        raise _fail(f"no row has a readable time in {time_col}")
    _say(
        f"read {len(rows)} rows from {data.name} ({table.skipped} empty"
        + (f", {bad_times} with an unreadable time" if time_col else "")
        + " skipped)"
    )
    window = timedelta(days=window_days) if window_days > 0 and time_col else None
    started = time.monotonic()
    index, clusters = find_clusters(rows, threshold=threshold, window=window)
    seconds = time.monotonic() - started
    _say(f"compared in {seconds:.2f} s ({len(rows) / max(seconds, 1e-9):.0f} rows/s)")
    result = _summary(
        rows, index, clusters, top=top, examples=examples, with_pairs=pairs and as_json
    )
    result["seconds"] = round(seconds, 3)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        _print(result)


if __name__ == "__main__":
    app()
