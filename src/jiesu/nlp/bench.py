"""`jiesu bench nlp`: how fast requests are understood on one core, as JSON.

Times the category classifier (and, when their modules are installed, place extraction and
urgency scoring) on the texts of a file: a whole batch at once (texts per second) and one
request at a time (latency percentiles), the way intake calls them. Everything runs in this
process pinned to one CPU with BLAS/OpenMP limited to one thread, so the figures are per core.

Without ``--model`` a classifier is trained on the file's own texts first. If the file has
no label column given, the texts get eight arbitrary classes: the cost of a linear model does
not depend on what its labels mean, and the vocabulary comes from the real texts. Targets are
checked by people reading these figures, never by timed assertions in tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from jiesu.errors import BadInput
from jiesu.intake.importer.readers import read_rows
from jiesu.nlp.model import Doc, TextClassifier

# The classifier is asked for three suggestions, as intake asks.
TOP_K = 3
ARBITRARY_CLASSES = 8


def _percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def read_docs(
    path: Path, text_cols: Sequence[str], n: int, label_col: str | None = None
) -> tuple[list[Doc], list[str]]:
    """Up to ``n`` documents (the text columns of a row, subject first) and their labels."""
    if not path.is_file():
        where = path.parent
        hint = (
            f" (the folder {where} is missing: the shared reference data is not on this machine)"
            if not where.is_dir()
            else ""
        )
        raise BadInput("data", f"{path} does not exist{hint}")
    if not text_cols:
        raise BadInput("text-col", "give at least one text column")
    docs: list[Doc] = []
    labels: list[str] = []
    for i, (_, row) in enumerate(read_rows(path)):
        if i == 0:
            missing = [c for c in [*text_cols, *([label_col] if label_col else [])] if c not in row]
            if missing:
                have = ", ".join(str(k) for k in row)
                raise BadInput(
                    "column", f"no column {', '.join(missing)} in {path.name}; have: {have}"
                )
        fields = tuple("" if row.get(c) is None else str(row.get(c)).strip() for c in text_cols)
        if not any(fields):
            continue
        docs.append(fields if len(fields) > 1 else fields[0])
        labels.append(str(row.get(label_col) or "") if label_col else "")
        if len(docs) >= n:
            break
    if not docs:
        raise BadInput("data", f"{path.name} has no rows with text")
    return docs, labels


def _joined(doc: Doc) -> str:
    return doc if isinstance(doc, str) else "\n".join(f for f in doc if f)


@contextlib.contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU and BLAS/OpenMP to one thread; undone afterwards."""
    from threadpoolctl import threadpool_limits

    before: set[int] | None = None
    cpu: int | None = None
    if hasattr(os, "sched_getaffinity"):
        before = os.sched_getaffinity(0)
        cpu = min(before)
        os.sched_setaffinity(0, {cpu})
    try:
        with threadpool_limits(limits=1):
            yield cpu
    finally:
        if before is not None:
            os.sched_setaffinity(0, before)


def _rates(run: Callable[[], object], count: int, repeat: int) -> dict[str, float]:
    """Items per second of ``run`` (which handles ``count`` items), best and median of
    ``repeat`` passes, in CPU time of this process: other work on a shared machine does not
    count against it."""
    rates: list[float] = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        rates.append(count / max(time.process_time() - started, 1e-9))
    return {
        "per_second_best": round(max(rates)),
        "per_second_median": round(statistics.median(rates)),
    }


def _latency(call: Callable[[Doc], object], docs: Sequence[Doc]) -> dict[str, float]:
    times: list[float] = []
    for doc in docs:
        started = time.perf_counter()
        call(doc)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(_percentile(times, 50), 3),
        "p95_ms": round(_percentile(times, 95), 3),
        "p99_ms": round(_percentile(times, 99), 3),
    }


def _each(call: Callable[[Doc], object], docs: Sequence[Doc]) -> Callable[[], None]:
    """One pass of ``call`` over ``docs``, results dropped as a server would drop them."""

    def run() -> None:
        for doc in docs:
            call(doc)

    return run


def _place_part() -> tuple[Callable[[Doc], object] | None, str]:
    """Place extraction on the demo city's gazetteer, if the module is installed."""
    try:
        from jiesu.city.pack import read_pack
        from jiesu.nlp.place_bench import DEMO_PACK, demo_gazetteer
    except ImportError as exc:
        return None, f"absent ({exc})"
    gazetteer = demo_gazetteer(read_pack(DEMO_PACK))
    extract = gazetteer.extract
    return (lambda doc: extract(_joined(doc))), "Gazetteer.extract on the demo city"


def _urgency_part() -> tuple[Callable[[Doc], object] | None, str]:
    try:
        from jiesu.nlp.urgency import score_urgency
    except ImportError as exc:
        return None, f"absent ({exc})"
    return (lambda doc: score_urgency(_joined(doc))), "score_urgency with the default settings"


def bench_category(
    model_dir: Path | None,
    data_path: Path,
    text_cols: Sequence[str],
    n: int = 5000,
    *,
    label_col: str | None = None,
    repeat: int = 3,
    single: int = 1000,
    parts: bool = True,
) -> dict[str, Any]:
    """Speed of understanding the first ``n`` texts of ``data_path`` on one core.

    ``category``: batch ``predict_top`` (texts/s) and one request at a time (ms). With
    ``parts``, also place extraction and urgency scoring when their modules exist, and all
    three together: ``all`` is the batch rate of category (batched) + place + urgency (per
    text, as they work), ``single_all`` one request through all three."""
    docs, labels = read_docs(data_path, text_cols, n, label_col)
    started = time.perf_counter()
    if model_dir is not None:
        model = TextClassifier.load(model_dir)
        origin = str(model_dir)
    else:
        if label_col and len(set(labels) - {""}) >= 2:
            kept = [(d, lab) for d, lab in zip(docs, labels, strict=True) if lab]
            origin = f"trained on the file's {len(kept)} labelled texts ({label_col})"
        else:
            kept = [(d, f"c{i % ARBITRARY_CLASSES}") for i, d in enumerate(docs)]
            origin = (
                f"trained on the file's {len(kept)} texts with {ARBITRARY_CLASSES} arbitrary"
                " classes (for timing only)"
            )
        model = TextClassifier().fit([d for d, _ in kept], [lab for _, lab in kept])
    ready_seconds = time.perf_counter() - started
    lengths = [len(_joined(d)) for d in docs]
    result: dict[str, Any] = {
        "benchmark": "nlp",
        "file": data_path.name,
        "text_cols": list(text_cols),
        "texts": len(docs),
        "mean_chars": round(statistics.fmean(lengths), 1),
        "model": {
            "origin": origin,
            "classes": len(model.labels),
            "features": sum(len(b.terms) for b in model.blocks),
            "blocks": [b.name for b in model.blocks],
            "seconds_to_load_or_train": round(ready_seconds, 2),
        },
    }
    sample = docs[: max(1, min(single, len(docs)))]
    with one_core() as cpu:
        model.predict_top(docs[:20], k=TOP_K)  # warm-up: lazy imports, segmenter dictionary
        result["cpu"] = cpu
        result["category"] = {
            **_rates(lambda: model.predict_top(docs, k=TOP_K), len(docs), repeat),
            "single": _latency(lambda d: model.predict_top([d], k=TOP_K), sample),
        }
        if parts:
            calls: dict[str, Callable[[Doc], object]] = {}
            for name, (call, what) in (("place", _place_part()), ("urgency", _urgency_part())):
                if call is None:
                    result[name] = {"skipped": what}
                    continue
                call(docs[0])
                calls[name] = call
                result[name] = {
                    "what": what,
                    **_rates(_each(call, docs), len(docs), repeat),
                    "single": _latency(call, sample),
                }
            if calls:

                def everything() -> None:
                    model.predict_top(docs, k=TOP_K)
                    for c in calls.values():
                        for d in docs:
                            c(d)

                def one(doc: Doc) -> None:
                    model.predict_top([doc], k=TOP_K)
                    for c in calls.values():
                        c(doc)

                result["all"] = {
                    "parts": ["category", *calls],
                    **_rates(everything, len(docs), repeat),
                    "single": _latency(one, sample),
                }
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    result["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return result


def bench_nlp(
    data: Path = typer.Option(..., "--data", help="CSV, XLSX or JSONL file of requests"),
    text_col: list[str] = typer.Option(
        ..., "--text-col", help="text column, subject first; repeat for several"
    ),
    model: Path | None = typer.Option(
        None, "--model", help="saved classifier (default: train one on the file first)"
    ),
    label_col: str | None = typer.Option(
        None, "--label-col", help="labels to train on when no --model is given"
    ),
    texts: int = typer.Option(5000, "--texts", min=1, help="texts read from the file"),
    repeat: int = typer.Option(3, "--repeat", min=1, help="timed passes over the batch"),
    category_only: bool = typer.Option(
        False, "--category-only", help="leave out place extraction and urgency scoring"
    ),
    as_json: bool = typer.Option(False, "--json", help="print only the JSON result"),
) -> None:
    """Texts per second and latency of request understanding on one core."""
    try:
        result = bench_category(
            model,
            data,
            text_col,
            texts,
            label_col=label_col,
            repeat=repeat,
            parts=not category_only,
        )
    except BadInput as exc:
        print(f"error: {exc.message}", file=sys.stderr, flush=True)
        raise typer.Exit(1) from None
    print(json.dumps(result, ensure_ascii=False, indent=None if as_json else 1))


if __name__ == "__main__":  # before the root command is wired: python -m jiesu.nlp.bench …
    typer.run(bench_nlp)
