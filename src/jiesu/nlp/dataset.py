"""Reading a labelled file for training or evaluation: one or more text columns joined into
one text, one label column."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jiesu.errors import BadInput
from jiesu.intake.importer.readers import read_rows


@dataclass(frozen=True)
class LabelledData:
    texts: list[str]
    labels: list[str]
    # sha256 of the file's bytes: says later exactly which data a model was trained on.
    fingerprint: str
    skipped: int = 0
    # The text columns of each row, in the order given (the first is taken as the subject).
    fields: list[tuple[str, ...]] = field(default_factory=list)


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cell(value: object) -> str:
    return "" if value is None else str(value).strip()


def load_labelled(
    path: Path,
    text_cols: Sequence[str],
    label_col: str,
    *,
    encoding: str | None = None,
    min_classes: int = 2,
) -> LabelledData:
    """Rows whose joined text or label is empty are skipped and counted, not fatal: real
    exports have a few; a file where every text is empty is an error."""
    if not path.is_file():
        raise BadInput("data", f"{path} does not exist")
    if not text_cols:
        raise BadInput("text-col", "give at least one text column")
    texts: list[str] = []
    labels: list[str] = []
    fields: list[tuple[str, ...]] = []
    rows = skipped = 0
    empty_texts = 0
    for _, row in read_rows(path, encoding=encoding):
        if rows == 0:
            missing = [c for c in [*text_cols, label_col] if c not in row]
            if missing:
                available = ", ".join(str(k) for k in row)
                raise BadInput(
                    "column", f"no column {', '.join(missing)} in {path.name}; have: {available}"
                )
        rows += 1
        cells = tuple(_cell(row.get(c)) for c in text_cols)
        text = "\n".join(t for t in cells if t)
        label = _cell(row.get(label_col))
        if not text:
            empty_texts += 1
        if not text or not label:
            skipped += 1
            continue
        texts.append(text)
        fields.append(cells)
        labels.append(label)
    if rows == 0:
        raise BadInput("data", f"{path.name} has no rows")
    if not texts:
        problem = "all texts are empty" if empty_texts == rows else "all labels are empty"
        raise BadInput("text-col" if empty_texts == rows else "label-col", f"{problem}")
    classes = Counter(labels)
    if len(classes) < min_classes:
        raise BadInput(
            "label-col",
            f"{label_col} has {len(classes)} class(es) ({', '.join(classes)}); need {min_classes}",
        )
    return LabelledData(texts, labels, fingerprint(path), skipped, fields)
