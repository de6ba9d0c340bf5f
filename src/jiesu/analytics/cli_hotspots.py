"""``jiesu analytics hotspots``: hot issues (热点问题) in a file of requests — groups about the
same problem at the same place in the same time window, hottest first (method and heat index
in ``jiesu.analytics.hotspots`` and docs/hotspots.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from jiesu.analytics.hotspots import (
    MIN_SIZE,
    STRICT_THRESHOLD,
    THRESHOLD,
    WINDOW_DAYS,
    HotInput,
    HotResult,
    HotSettings,
    find_hot_issues,
)
from jiesu.errors import BadInput
from jiesu.nlp.cliout import fail, say
from jiesu.nlp.textrows import TextRows, load_rows, parse_time

# Member ids shown per group in the table (the JSON has all of them).
SHOWN_IDS = 8


def _likes(value: str, line: int, column: str) -> int:
    if not value:
        return 0  # channels without likes leave the cell empty
    try:
        return max(int(float(value)), 0)
    except ValueError:
        raise BadInput("likes-col", f"line {line}: {column} is not a number: {value!r}") from None


def _records(
    data: TextRows,
    *,
    time_col: str,
    id_col: str | None,
    likes_col: str | None,
    place_col: str | None,
    user_col: str | None,
) -> list[HotInput]:
    """One record per kept row; the first unreadable time or count stops with its line."""
    out: list[HotInput] = []
    for i, text in enumerate(data.texts):
        line = data.lines[i]
        raw_time = data.columns[time_col][i]
        at = parse_time(raw_time)
        if at is None:
            raise BadInput("time-col", f"line {line}: cannot read {time_col} {raw_time!r}")
        place = data.columns[place_col][i] if place_col else ""
        out.append(
            HotInput(
                id=(data.columns[id_col][i] if id_col else "") or f"line {line}",
                text=text,
                time=at,
                place_key=place or None,
                place_name=place or None,
                likes=_likes(data.columns[likes_col][i], line, likes_col) if likes_col else 0,
                caller=(data.columns[user_col][i] or None) if user_col else None,
            )
        )
    return out


def summary(
    result: HotResult, settings: HotSettings, *, top: int, seconds: float
) -> dict[str, Any]:
    return {
        "n_records": result.n_records,
        "n_groups": len(result.groups),
        "n_in_groups": sum(g.size for g in result.groups),
        "n_pairs": result.n_pairs,
        "window_days": settings.window_days,
        "threshold": settings.threshold,
        "strict_threshold": settings.strict_threshold,
        "elapsed_s": round(seconds, 3),
        "groups": [g.as_dict() for g in result.groups[:top]],
    }


def _print(doc: dict[str, Any]) -> None:
    print(
        f"{doc['n_records']} requests, {doc['n_groups']} hot-issue groups holding "
        f"{doc['n_in_groups']} of them (window {doc['window_days']:g} days, "
        f"threshold {doc['threshold']:.2f}), {doc['elapsed_s']:.2f} s"
    )
    for rank, g in enumerate(doc["groups"], start=1):
        c = g["components"]
        span = g["span"]
        print(
            f"\n#{rank} heat {g['heat']:.1f}  {g['title']}\n"
            f"   {g['size']} requests, {c['callers']} callers, {c['likes']} likes, "
            f"growth ×{c['growth_factor']:.2f}, {span['first'][:10]} → {span['last'][:10]}"
        )
        ids = [str(i) for i in g["ids"]]
        more = f" … +{len(ids) - SHOWN_IDS}" if len(ids) > SHOWN_IDS else ""
        print(f"   ids: {', '.join(ids[:SHOWN_IDS])}{more}")


def hotspots_cmd(
    data: Path = typer.Option(..., "--data", help="CSV (UTF-8 or GB18030), XLSX or JSONL file"),
    text_col: list[str] = typer.Option(
        ..., "--text-col", help="text column; repeat to join (subject first, e.g. 留言主题)"
    ),
    time_col: str = typer.Option(..., "--time-col", help="column with the time of the request"),
    id_col: str | None = typer.Option(None, "--id-col", help="id column (default: line)"),
    likes_col: str | None = typer.Option(None, "--likes-col", help="column with likes (点赞数)"),
    place_col: str | None = typer.Option(
        None, "--place-col", help="place key column (area code); else read from the text"
    ),
    user_col: str | None = typer.Option(
        None, "--user-col", help="caller column: repeated calls by one caller count once"
    ),
    window_days: float = typer.Option(
        WINDOW_DAYS, "--window-days", min=0.001, help="max days between related requests"
    ),
    threshold: float = typer.Option(
        THRESHOLD, "--threshold", min=0.01, max=1.0, help="similarity for requests at one site"
    ),
    strict_threshold: float = typer.Option(
        STRICT_THRESHOLD,
        "--strict-threshold",
        min=0.01,
        max=1.0,
        help="similarity when only the district (or no place) is shared",
    ),
    min_size: int = typer.Option(MIN_SIZE, "--min-size", min=2, help="smallest group"),
    top: int = typer.Option(5, "--top", min=0, help="groups to show"),
    encoding: str | None = typer.Option(
        None, "--encoding", help="file encoding (default: detected)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Find hot issues: requests about one problem at one place within a time window."""
    others = [c for c in (time_col, id_col, likes_col, place_col, user_col) if c]
    settings = HotSettings(
        window_days=window_days,
        threshold=threshold,
        strict_threshold=max(strict_threshold, threshold),
        min_size=min_size,
    )
    try:
        table = load_rows(data, text_col, others, encoding=encoding)
        records = _records(
            table,
            time_col=time_col,
            id_col=id_col,
            likes_col=likes_col,
            place_col=place_col,
            user_col=user_col,
        )
    except BadInput as exc:
        raise fail(exc.message) from None
    say(f"read {len(records)} requests from {data.name} ({table.skipped} empty skipped)")
    started = time.monotonic()
    result = find_hot_issues(records, settings)
    doc = summary(result, settings, top=top, seconds=time.monotonic() - started)
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        _print(doc)


if __name__ == "__main__":
    # Runnable on its own until it is registered as ``jiesu analytics hotspots``.
    _app = typer.Typer(pretty_exceptions_enable=False)
    _app.command()(hotspots_cmd)
    _app()
