"""Whatever a city pack folder holds, reading it gives the pack or the list of its problems,
each naming the file: never an exception the loader did not foresee (an admin uploading a
broken pack must see what to fix, not a server error). Property-based: the demo pack with one
of its files replaced, cut short, or edited at a random line or cell."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jiesu.city.cli import DEMO_PACK
from jiesu.city.pack import CityPack, CityPackError, read_pack

FILES = sorted(str(p.relative_to(DEMO_PACK)) for p in DEMO_PACK.rglob("*") if p.is_file())
# Optional files the demo does not ship, so their readers are reached too.
EXTRA = ["areas.geojson", "calendar/2030.yaml"]
NAMES = {Path(f).name for f in [*FILES, *EXTRA]} | {"city pack"}

junk = (
    st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | st.sampled_from(
        [
            b"", b"\xff\xfe\x00", b"[" * 3000, b"- - - -", b"a: &a [*a]", b'"unclosed',
            b'{"features": 1}', b'{"features": [1, {"properties": 2}]}', b"[1, 2]", b"null",
            b"code,name\n" + b'"' + b"x" * 200_000, b"\x00\x00\x00",
        ]
    )
)  # fmt: skip
cell_junk = st.text(max_size=12) | st.sampled_from(["", "|", "||x", "nan", "inf", "-1e999", "0"])

# city.yaml with one urgency class written as text instead of a mapping.
_URGENCY_AS_TEXT = (
    (DEMO_PACK / "city.yaml")
    .read_bytes()
    .replace("general:   {name: 一般, response: 24h, handling: 7wd}".encode(), b"general: 24h")
)


@st.composite
def broken_packs(draw: st.DrawFn) -> tuple[str, bytes | None, tuple[str, ...]]:
    """(file, new content or None for removed, what was done) — applied by ``_apply``."""
    name = draw(st.sampled_from([*FILES, *EXTRA]))
    what = draw(st.sampled_from(["replace", "cut", "line", "cell", "remove", "duplicate"]))
    if what == "replace" or name in EXTRA:
        return name, draw(junk), ("replace",)
    original = (DEMO_PACK / name).read_bytes()
    if what == "remove":
        return name, None, ("remove",)
    if what == "cut":
        return name, original[: draw(st.integers(0, len(original)))], ("cut",)
    lines = original.decode("utf-8").splitlines(keepends=True)
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if what == "duplicate":
        lines.insert(at, lines[at] if lines else "\n")
    elif what == "line":
        lines[at : at + 1] = [draw(st.text(max_size=60)) + "\n"]
    elif lines:  # one cell of a CSV row, or one value of a YAML line, changed
        parts = lines[at].rstrip("\n").split("," if name.endswith(".csv") else ":")
        parts[draw(st.integers(0, len(parts) - 1))] = draw(cell_junk)
        lines[at] = ("," if name.endswith(".csv") else ":").join(parts) + "\n"
    return name, "".join(lines).encode("utf-8", errors="surrogatepass"), (what, str(at))


def _apply(folder: Path, change: tuple[str, bytes | None, tuple[str, ...]]) -> None:
    shutil.copytree(DEMO_PACK, folder)
    name, content, _ = change
    target = folder / name
    if content is None:
        target.unlink()
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@given(broken_packs())
@example(("areas.csv", b"code,parent_code,level,name\n\xff\xfe", ("replace",)))
@example(("city.yaml", b"\xff\xfe\x00", ("replace",)))
@example(("areas.geojson", b"[1, 2]", ("replace",)))
@example(("areas.geojson", b'{"features": [1]}', ("replace",)))
@example(("units.csv", b"code,name\n" + b'"' + b"x" * 200_000, ("replace",)))
@example(("areas.csv", (DEMO_PACK / "areas.csv").read_bytes().replace(b",39.", b",nan"), ("x",)))
# An urgency class that is not a mapping (a line cut short) crashed the categories' defaults.
@example(("city.yaml", _URGENCY_AS_TEXT, ("x",)))
@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_pack_reads_or_lists_its_problems_by_file(
    tmp_path_factory: object, change: tuple[str, bytes | None, tuple[str, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("pack") / "city"  # type: ignore[attr-defined]
    _apply(folder, change)
    try:
        pack = read_pack(folder)
    except CityPackError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        unnamed = [p for p in exc.problems if not any(n in p for n in NAMES)]
        assert not unnamed, unnamed
    else:
        assert isinstance(pack, CityPack) and pack.areas and pack.categories and pack.units
        for area in pack.areas:
            assert area.lat is None or -90 <= area.lat <= 90, area
            assert area.lon is None or -180 <= area.lon <= 180, area
