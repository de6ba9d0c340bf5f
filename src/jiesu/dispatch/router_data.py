"""Histories of handled requests for the router: read from a file (text, category, area, the
unit that handled each, optionally a time), and split for measurement."""

from __future__ import annotations

import csv
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from jiesu.dispatch.router import RouteExample
from jiesu.dispatch.router_history import relabel_units
from jiesu.errors import BadInput
from jiesu.intake.importer.readers import read_rows
from jiesu.nlp.textrows import load_rows, parse_time

SEP = "/"
Say = Callable[[str], None]


@dataclass(frozen=True)
class History:
    examples: list[RouteExample]
    units: list[str]
    # As written in the time column (empty without one).
    times: list[str]


def read_aliases(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    if not path.is_file():
        raise BadInput("--aliases", f"{path} does not exist")
    out: dict[str, str] = {}
    for _, row in read_rows(path):
        if "alias" not in row or "unit" not in row:
            have = ", ".join(str(k) for k in row if not str(k).startswith("_"))
            raise BadInput("--aliases", f"{path.name} needs columns alias,unit; have: {have}")
        alias, unit = str(row["alias"] or "").strip(), str(row["unit"] or "").strip()
        if alias and unit:
            out[alias] = unit
    if not out:
        raise BadInput("--aliases", f"{path.name} has no alias,unit rows")
    return out


def check_columns(data: Path, encoding: str | None, wanted: dict[str, list[str]]) -> None:
    """Name the option whose column is missing: the file's first row is enough."""
    if not data.is_file():
        return  # load_rows says so
    first: dict[str, Any] | None = None
    try:
        for _, row in read_rows(data, encoding=encoding):
            first = row
            break  # the reader's generator is closed as it goes out of scope
    except (ValueError, OSError, csv.Error, zipfile.BadZipFile):
        return  # unreadable: load_rows says how
    if first is None:
        return
    have = [str(k) for k in first if not str(k).startswith("_")]
    for option, cols in wanted.items():
        missing = [c for c in cols if c not in first]
        if missing:
            problem = f"no column {', '.join(missing)} in {data.name}; have: {', '.join(have)}"
            raise BadInput(option, problem)


def load_history(
    data: Path,
    text_cols: list[str],
    category_cols: list[str],
    area_cols: list[str],
    label_col: str,
    *,
    encoding: str | None = None,
    aliases: Path | None = None,
    time_col: str | None = None,
    say: Say = lambda _msg: None,
) -> History:
    """Several category (area) columns make one path, coarse to fine; a cell may itself be a
    ``/``-separated path. Rows without text or unit are skipped and counted."""
    times = [time_col] if time_col else []
    check_columns(
        data,
        encoding,
        {
            "--text-col": text_cols,
            "--category-col": category_cols,
            "--area-col": area_cols,
            "--label-col": [label_col],
            "--time-col": times,
        },
    )
    others = [*category_cols, *area_cols, label_col, *times]
    rows = load_rows(data, text_cols, others, encoding=encoding, require=[label_col])

    def path(cols: list[str], i: int) -> str | None:
        return SEP.join(p for c in cols if (p := rows.columns[c][i])) or None

    examples = [
        RouteExample(
            fields if len(fields) > 1 else fields[0], path(category_cols, i), path(area_cols, i)
        )
        for i, fields in enumerate(rows.fields)
    ]
    units = relabel_units(rows.columns[label_col], read_aliases(aliases))
    times = rows.columns[time_col] if time_col else []
    say(f"read {len(examples)} rows ({rows.skipped} skipped) from {data.name}")
    return History(examples, units, times)


def baseline(train: History, test: History) -> dict[str, Any]:
    """What dispatching by category alone gives: each category's most frequent unit in the
    training part (the most frequent unit overall for unseen or missing categories)."""
    by_cat: dict[str | None, Counter[str]] = {}
    for ex, unit in zip(train.examples, train.units, strict=True):
        by_cat.setdefault(ex.category, Counter())[unit] += 1
    overall = Counter(train.units).most_common(1)[0][0]
    best = {c: n.most_common(1)[0][0] for c, n in by_cat.items()}
    hits = sum(
        best.get(ex.category, overall) == unit
        for ex, unit in zip(test.examples, test.units, strict=True)
    )
    return {"what": "most frequent unit per category", "top1_accuracy": hits / len(test.units)}


def subset(d: History, idx: Any) -> History:
    return History([d.examples[i] for i in idx], [d.units[i] for i in idx], [])


def holdout(
    d: History, test_share: float = 0.2, say: Say = lambda _msg: None
) -> tuple[History, History, str]:
    """The last 20% by time when times are given; else 20% of each unit, chosen at random
    (units with a single row stay in training)."""
    if d.times:
        parsed = [parse_time(t) for t in d.times]
        dated = [i for i, t in enumerate(parsed) if t is not None]
        if len(dated) < 10:
            raise BadInput("--time-col", f"only {len(dated)} rows have a readable time")
        if len(dated) < len(parsed):
            say(f"{len(parsed) - len(dated)} rows without a readable time left out")
        dated.sort(key=lambda i: parsed[i])  # type: ignore[arg-type,return-value]
        cut = int(len(dated) * (1 - test_share))
        return subset(d, dated[:cut]), subset(d, dated[cut:]), "time"
    rng = np.random.default_rng(0)
    groups: dict[str, list[int]] = {}
    for i, unit in enumerate(d.units):
        groups.setdefault(unit, []).append(i)
    train: list[int] = []
    test: list[int] = []
    for idx in groups.values():
        shuffled = rng.permutation(idx).tolist()
        k = min(len(idx) - 1, round(len(idx) * test_share))
        test += shuffled[:k]
        train += shuffled[k:]
    return subset(d, sorted(train)), subset(d, sorted(test)), "stratified"


def folds(d: History, k: int) -> list[tuple[Any, Any]]:
    """Stratified k folds (shuffled, seed 0) as (fit, test) row numbers."""
    if len(d.units) < 2 * k:
        raise BadInput("--folds", f"{k} folds of {len(d.units)} rows: too few rows")
    with warnings.catch_warnings():
        # Units rarer than the number of folds are fine: they miss from some folds.
        warnings.simplefilter("ignore", UserWarning)
        parts = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
        return list(parts.split(np.zeros(len(d.units)), d.units))
