"""`jiesu bench all`: every benchmark in one run on a scratch installation, as one JSON.

Each benchmark runs as a process of its own (`python -m jiesu.cli bench <name> --json`), so
one's memory is not counted in the next and its peak resident memory is the operating
system's figure for that process (``wait4``), not an estimate. The data is generated here,
from the demo city's taxonomy and the demo's text composer, so the set runs on a fresh
machine with nothing downloaded and nothing from elsewhere: a history file in the
government-message board layout (import, then understanding trained and timed on it),
synthetic submissions (intake over HTTP), synthetic cases (dispatch) and a synthetic warehouse
(analysis). The database is a SQLite file in a temporary folder, or a PostgreSQL database of
its own made on the server given (the soak's scratch site), dropped afterwards.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jiesu.city.cli import DEMO_PACK
from jiesu.city.pack import CategoryRow, read_pack
from jiesu.demo import texts
from jiesu.errors import BadInput
from jiesu.ops.soak.site import Site, scratch_site

NAMES = ("intake", "import", "nlp", "dispatch", "analytics")
# Columns of the gov-messages mapping (intake/importer/mappings/gov-messages.yaml).
HISTORY_COLUMNS = ("留言编号", "留言主题", "留言时间", "留言详情", "一级分类")


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does. The defaults keep the whole set under 15 minutes on two
    cores; ``scale`` multiplies them all for a longer, steadier run."""

    intake_requests: int = 2000
    history_rows: int = 20_000
    nlp_texts: int = 5000
    dispatch_cases: int = 20_000
    analytics_rows: int = 1_000_000

    def scaled(self, scale: float) -> Sizes:
        if not 0.01 <= scale <= 100:
            raise BadInput("--scale", "must be between 0.01 and 100")
        return Sizes(
            intake_requests=max(100, int(self.intake_requests * scale)),
            history_rows=max(500, int(self.history_rows * scale)),
            nlp_texts=max(200, int(self.nlp_texts * scale)),
            dispatch_cases=max(100, int(self.dispatch_cases * scale)),
            analytics_rows=max(1000, int(self.analytics_rows * scale)),
        )


@dataclass
class Part:
    name: str
    exit_code: int
    seconds: float
    peak_rss_mb: float
    result: dict[str, Any] | None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "seconds": self.seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "error": self.error,
            "result": self.result,
        }


@dataclass
class Plan:
    sizes: Sizes = field(default_factory=Sizes)
    only: tuple[str, ...] = NAMES
    db_url: str | None = None
    seed: int = 1

    def check(self) -> None:
        unknown = [n for n in self.only if n not in NAMES]
        if unknown:
            raise BadInput("--only", f"unknown benchmark {unknown[0]!r}; use {', '.join(NAMES)}")


def _leaves() -> list[tuple[CategoryRow, tuple[str, ...]]]:
    """The demo taxonomy's leaves with their names from the first level down."""
    pack = read_pack(DEMO_PACK)
    by_code = {c.code: c for c in pack.categories}
    parents = {c.parent_code for c in pack.categories if c.parent_code}
    out = []
    for c in pack.categories:
        if c.code in parents:
            continue
        path, node = [c.name], c
        while node.parent_code and node.parent_code in by_code:
            node = by_code[node.parent_code]
            path.insert(0, node.name)
        out.append((c, tuple(path)))
    return out


def write_history(path: Path, rows: int, seed: int) -> int:
    """A message-board export of ``rows`` synthetic requests over the last year, labelled with
    their first-level category: realistic text for import and for training."""
    rng = random.Random(seed)
    leaves = _leaves()
    streets = [a.name for a in read_pack(DEMO_PACK).areas if a.level == "street"]
    # A year ending a day before now, so that no time is in the future in any time zone (the
    # importer rightly refuses those).
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=366)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HISTORY_COLUMNS)
        for i in range(rows):
            leaf, names = rng.choice(leaves)
            ref = texts.CategoryRef(code=leaf.code, path=names, keywords=tuple(leaf.keywords))
            composed = texts.compose_request(
                rng, ref, texts.PlaceRef("", rng.choice(streets), None)
            )
            at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
            out.writerow(
                [f"B{i:07d}", composed.title, at.strftime("%Y/%m/%d %H:%M:%S"), composed.text,
                 names[0]]
            )  # fmt: skip
    return rows


def commands(plan: Plan, history: Path) -> dict[str, list[str]]:
    s = plan.sizes
    bench = [sys.executable, "-m", "jiesu.cli", "bench"]
    return {
        "intake": [*bench, "intake", "--requests", str(s.intake_requests), "--json"],
        "import": [*bench, "import", str(history), "--mapping", "gov-messages", "--json"],
        "nlp": [
            *bench,
            "nlp",
            "--data",
            str(history),
            "--text-col",
            "留言主题",
            "--text-col",
            "留言详情",
            "--label-col",
            "一级分类",
            "--texts",
            str(s.nlp_texts),
            "--json",
        ],
        "dispatch": [*bench, "dispatch", "--cases", str(s.dispatch_cases), "--json"],
        "analytics": [*bench, "analytics", "--rows", str(s.analytics_rows), "--json"],
    }


def run_part(name: str, argv: list[str], env: dict[str, str], log: Path) -> Part:
    """One benchmark as a child process: its JSON (the last line that parses), its exit code,
    its wall time and the peak resident memory the kernel recorded for it."""
    started = time.monotonic()
    with log.open("ab") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        # wait4 instead of wait: it returns this child's own resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = round(time.monotonic() - started, 2)
    result = last_json(out.decode("utf-8", "replace"))
    error = None
    if proc.returncode != 0 or result is None:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        error = " | ".join(tail) or f"exit {proc.returncode}, no JSON on stdout"
    return Part(name, proc.returncode, seconds, round(usage.ru_maxrss / 1024, 1), result, error)


def last_json(text: str) -> dict[str, Any] | None:
    """The JSON object a benchmark printed last: on one line, or pretty-printed over several
    (from a line opening with "{" to the end)."""
    lines = text.splitlines()
    for i in reversed(range(len(lines))):
        if not lines[i].startswith("{"):
            continue
        try:
            parsed = json.loads("\n".join(lines[i:]))
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return None


def run_all(plan: Plan, say: Callable[[str], None]) -> dict[str, Any]:
    plan.check()
    started = time.monotonic()
    with scratch_site(plan.db_url) as site:
        history = site.data_dir.parent / "history.csv"
        if {"import", "nlp"} & set(plan.only):
            say(f"writing {plan.sizes.history_rows:,} synthetic history rows")
            write_history(history, plan.sizes.history_rows, plan.seed)
        parts: dict[str, Part] = {}
        argv = commands(plan, history)
        for i, name in enumerate(n for n in NAMES if n in plan.only):
            say(f"[{i + 1}/{len(plan.only)}] bench {name}")
            parts[name] = run_part(name, argv[name], _env(site), site.data_dir.parent / "bench.log")
            p = parts[name]
            state = "ok" if p.error is None else f"FAILED: {p.error}"
            say(f"    {p.seconds:.1f} s, peak {p.peak_rss_mb:.0f} MB, {state}")
    return {
        "benchmark": "all",
        "database": site.backend,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "sizes": plan.sizes.__dict__,
        "seconds": round(time.monotonic() - started, 1),
        "failed": [n for n, p in parts.items() if p.error is not None],
        "parts": {n: p.as_dict() for n, p in parts.items()},
    }


def _env(site: Site) -> dict[str, str]:
    return {**site.env, "PYTHONUNBUFFERED": "1"}


def _machine() -> dict[str, Any]:
    import platform

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": [round(x, 2) for x in load] if load else None,
    }


def headline(name: str, result: dict[str, Any] | None) -> str:
    """The figures a reader looks for first, per benchmark."""
    if not result:
        return "–"
    if name == "intake":
        return f"{result.get('submissions_per_s')} submissions/s, p99 {result.get('p99_ms')} ms"
    if name == "import":
        return f"{result.get('rows_per_s')} rows/s, {result.get('rejected')} rejected"
    if name == "nlp":
        best = result.get("all") or result.get("category") or {}
        single = best.get("single", {})
        return f"{best.get('per_second_median')} texts/s a core, {single.get('p50_ms')} ms p50"
    if name == "dispatch":
        return f"{result.get('decisions_per_second')} decisions/s, {result.get('p50_ms')} ms p50"
    return (
        f"{result.get('rows')} rows: month {result.get('monthly_report_s')} s, "
        f"heat {result.get('heat_year_s')} s"
    )
