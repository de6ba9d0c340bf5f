"""Measure the urgency scorer on a CSV of requests: speed, score shares, top reasons.

    python -m jiesu.nlp.urgency_stats --data FILE --text-col 留言主题 --text-col 留言详情 \
        [--date-col 留言时间] [--chars 300]

Speed is the best of three passes over texts cut to ``--chars`` characters (the texts as
they come are measured too), scoring only, in CPU time of this one process: a busy machine
shares the core with others, and wall-clock time would measure them too.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from jiesu.nlp.urgency import score_urgency

_DATE_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%Y-%m-%d")


def _date(value: str) -> datetime | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


def read_rows(
    paths: Sequence[Path], text_cols: Sequence[str], date_col: str | None
) -> list[tuple[str, datetime | None]]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                # Message-board exports pad texts with tabs and blank lines.
                text = "\n".join(" ".join((row.get(c) or "").split()) for c in text_cols)
                rows.append((text, _date(row.get(date_col) or "") if date_col else None))
    return rows


def texts_per_second(texts: Sequence[str], passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for text in texts:
            score_urgency(text)
        best = min(best, time.process_time() - start)
    return len(texts) / best if best else float("inf")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jiesu.nlp.urgency_stats")
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--text-col", action="append", required=True)
    parser.add_argument("--date-col")
    parser.add_argument("--chars", type=int, default=300)
    args = parser.parse_args(argv)
    rows = read_rows(args.data, args.text_col, args.date_col)
    texts = [t for t, _ in rows]
    cut = [t[: args.chars] for t in texts if len(t) >= args.chars]
    score_urgency("")  # compile outside the timing
    print(f"texts: {len(texts)}, average {sum(map(len, texts)) / max(1, len(texts)):.0f} chars")
    if cut:
        print(f"speed, {len(cut)} texts cut to {args.chars} chars: {texts_per_second(cut):,.0f}/s")
    print(f"speed, texts as they are: {texts_per_second(texts):,.0f}/s")
    results = [score_urgency(t, received_at=d) for t, d in rows]
    n = max(1, len(results))
    high, some = sum(r.score >= 50 for r in results), sum(r.score > 0 for r in results)
    print(f"score >= 50: {high} ({high / n:.1%}); score > 0: {some / n:.1%}")
    print("suggested class:", dict(Counter(r.urgency for r in results if r.urgency)))
    reasons = Counter(x.code for r in results for x in r.reasons)
    print("reasons:", ", ".join(f"{code} {count}" for code, count in reasons.most_common()))
    ignored = Counter(i.why.split(" ")[0] for r in results for i in r.ignored)
    print("ignored matches:", dict(ignored))


if __name__ == "__main__":
    main()
