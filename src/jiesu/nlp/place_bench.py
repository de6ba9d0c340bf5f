"""Speed (and a sanity check) of place extraction on the demo city, as JSON.

    python -m jiesu.nlp.place_bench [--texts 20000] [--data FILE.csv --column COL]

Without ``--data`` the texts are synthetic requests of the demo city (jiesu.demo.texts, each
from a known street or community), so the answer can also be checked against the place the
text was written for. With ``--data`` the texts are one column of a CSV file. Timing is CPU
time of ``Gazetteer.extract`` only, in one process (one core), over ``--repeat`` passes;
building the gazetteer is reported apart.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jiesu.city.gazetteer import GAZETTEER_FILE, read_gazetteer
from jiesu.city.pack import CityPack, read_pack
from jiesu.demo import texts
from jiesu.nlp.place import AreaEntry, Gazetteer, PlaceResult

DEMO_PACK = Path(__file__).parents[1] / "city" / "packs" / "demo"


def demo_gazetteer(pack: CityPack, folder: Path = DEMO_PACK) -> Gazetteer:
    areas = [
        AreaEntry(a.code, a.parent_code, a.level, a.name, tuple(a.aliases), "", a.geometry)
        for a in pack.areas
    ]
    path = folder / GAZETTEER_FILE
    return Gazetteer(areas, read_gazetteer(path) if path.is_file() else [])


def synthetic(pack: CityPack, n: int, seed: int = 7) -> list[tuple[str, str]]:
    """(text, code of the street or community it was written for), ~300 characters each."""
    rng = random.Random(seed)
    by_code = {a.code: a for a in pack.areas}
    leaves = [c for c in pack.categories if c.level == 3]
    names = {c.code: c.name for c in pack.categories}
    spots = [a for a in pack.areas if a.level in ("street", "community")]
    out = []
    for _ in range(n):
        spot = rng.choice(spots)
        street = by_code[spot.parent_code or ""] if spot.level == "community" else spot
        district = by_code[street.parent_code or ""]
        community = spot.name if spot.level == "community" else None
        leaf = rng.choice(leaves)
        path = (names[leaf.code[:2]], names[leaf.code[:4]], leaf.name)
        ref = texts.CategoryRef(leaf.code, path, tuple(leaf.keywords))
        parts: list[str] = []
        while sum(len(p) for p in parts) < 280:  # two or three requests make a ~300-character text
            req = texts.compose_request(
                rng, ref, texts.PlaceRef(district.name, street.name, community)
            )
            parts.append(req.title + "。" + req.text)
        out.append(("\n".join(parts), spot.code))
    return out


def from_csv(path: Path, column: str, n: int) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            (row[column] or "", "") for row, _ in zip(csv.DictReader(fh), range(n), strict=False)
        ]


def measure(gazetteer: Gazetteer, items: Sequence[tuple[str, str]], repeat: int) -> dict[str, Any]:
    textlist = [t for t, _ in items]
    rates: list[float] = []
    extract = gazetteer.extract
    for _ in range(repeat):  # the machine may be shared: report the best and the median run
        cpu = time.process_time()
        for text in textlist:  # results are dropped as a server would: keeping 20,000 of
            extract(text)  # them alive only measures the garbage collector
        rates.append(len(textlist) / max(time.process_time() - cpu, 1e-9))
    results = [extract(t) for t in textlist]
    expected = [(r, code) for r, (_, code) in zip(results, items, strict=True) if code]
    return {
        "texts": len(textlist),
        "mean_chars": round(sum(map(len, textlist)) / max(1, len(textlist)), 1),
        "texts_per_second_best": round(max(rates)),
        "texts_per_second_median": round(statistics.median(rates)),
        "with_area": sum(1 for r in results if r.area_code),
        "outside_city": sum(1 for r in results if r.outside_city),
        "ambiguous": sum(1 for r in results if r.ambiguous),
        "agrees_with_source": sum(1 for r, code in expected if _agrees(gazetteer, r, code))
        if expected
        else None,
    }


def _agrees(gazetteer: Gazetteer, result: PlaceResult, code: str) -> bool:
    """The answer lies on the path of the area the text was written for."""
    found = result.area_code
    return found is not None and (
        found in gazetteer.nodes[code].ancestors or code in gazetteer.nodes[found].ancestors
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20000)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--column", default="text")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    pack = read_pack(DEMO_PACK)
    started = time.perf_counter()
    gazetteer = demo_gazetteer(pack)
    build = time.perf_counter() - started
    items = (
        from_csv(args.data, args.column, args.texts) if args.data else synthetic(pack, args.texts)
    )
    gazetteer.extract(items[0][0])  # the first call pays for lazy set-up in the segmenter
    report = measure(gazetteer, items, max(1, args.repeat))
    report |= {
        "build_seconds": round(build, 3),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
