"""`jiesu bench all`: the data it generates, how it reads each benchmark's answer, and one small
real run of two benchmarks on a scratch SQLite installation (sizes are the product's to
report, never asserted as targets here)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiesu.cli import app
from jiesu.errors import BadInput
from jiesu.ops.bench_all import HISTORY_COLUMNS, Plan, Sizes, last_json, write_history


def test_the_history_file_is_real_looking_labelled_and_in_the_past(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write_history(path, 200, seed=3)
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 200 and tuple(rows[0]) == HISTORY_COLUMNS
    assert len({r["一级分类"] for r in rows}) >= 5  # drawn across the taxonomy
    assert all(len(r["留言详情"]) > 20 for r in rows)
    times = [datetime.strptime(r["留言时间"], "%Y/%m/%d %H:%M:%S") for r in rows]
    assert max(times) < datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=12)
    again = tmp_path / "again.csv"
    write_history(again, 200, seed=3)
    assert again.read_bytes() == path.read_bytes()  # the seed decides everything


def test_the_last_json_is_found_on_one_line_or_pretty_printed() -> None:
    assert last_json('progress\n{"a": 1}\n') == {"a": 1}
    assert last_json('noise\n{\n  "a": {\n    "b": 2\n  }\n}\n') == {"a": {"b": 2}}
    assert last_json("no json here\n[1, 2]\n") is None


def test_bad_options_name_themselves() -> None:
    with pytest.raises(BadInput) as e:
        Sizes().scaled(0)
    assert e.value.fields[0]["field"] == "--scale"
    with pytest.raises(BadInput) as e:
        Plan(only=("intake", "nope")).check()
    assert e.value.fields[0]["field"] == "--only"
    refused = CliRunner().invoke(app, ["bench", "all", "--db-url", "sqlite:///x.db"])
    assert refused.exit_code == 1 and "PostgreSQL" in refused.output


def test_a_small_run_reports_each_benchmark_with_its_memory() -> None:
    run = CliRunner().invoke(
        app, ["bench", "all", "--only", "import", "--only", "dispatch", "--scale", "0.03",
              "--json"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "all" and result["failed"] == []
    assert set(result["parts"]) == {"import", "dispatch"}
    imported = result["parts"]["import"]
    assert imported["result"]["rows"] == 600 and imported["result"]["rejected"] == 0
    assert imported["peak_rss_mb"] > 50  # the kernel's figure for that process
    assert result["parts"]["dispatch"]["result"]["cases"] == 600
