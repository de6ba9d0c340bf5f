"""``jiesu nlp``: train, evaluate and cross-validate the request classifier from a file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from jiesu.errors import BadInput
from jiesu.nlp.cli_duplicates import duplicates
from jiesu.nlp.cli_models import models_app, retrain_cmd
from jiesu.nlp.cli_replies import replies
from jiesu.nlp.cliout import fail
from jiesu.nlp.cliout import say as _say
from jiesu.nlp.dataset import load_labelled
from jiesu.nlp.evaluate import cross_validate, metrics
from jiesu.nlp.language import KNOWN, LABELS, dominant_script, file_scripts
from jiesu.nlp.model import TextClassifier
from jiesu.nlp.profile import profile

app = typer.Typer(
    help="Text understanding: train and measure the request classifier.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DATA = typer.Option(..., "--data", help="labelled CSV, XLSX or JSONL file")
TEXT_COLS = typer.Option(..., "--text-col", help="text column; repeat to join several")
LABEL_COL = typer.Option(..., "--label-col", help="column with the true category")
ENCODING = typer.Option(None, "--encoding", help="file encoding (default: detected)")
AS_JSON = typer.Option(False, "--json", help="print the figures as JSON")


def _fail(message: str, code: int = 1) -> typer.Exit:
    if dominant_script(message) == "mojibake" and "--encoding" not in message:
        # Column names that do not match because the whole file was decoded wrongly.
        message += "\n(the file looks mis-decoded: give its encoding with --encoding, e.g. gb18030)"
    return fail(message, code)


def _check_scripts(texts: list[str], model: TextClassifier | None = None) -> dict[str, int]:
    """Refuse files the models cannot read: mis-decoded, or in a script they do not know,
    or (for a saved model) in another script than the one it was trained on."""
    mix = file_scripts(texts)
    n = sum(mix.values())
    if mix["mojibake"] * 10 >= n:
        raise BadInput(
            "encoding",
            f"{mix['mojibake']} of {n} texts look mis-decoded; give the file's encoding with"
            " --encoding (for Chinese files often gb18030)",
        )
    readable = sum(mix[s] for s in KNOWN)
    if readable * 2 < n:
        script, _ = max(((k, v) for k, v in mix.items() if k != "none"), key=lambda kv: kv[1])
        raise BadInput(
            "text", f"{n - readable} of {n} texts are in {LABELS.get(script, script)};"
            " the models read Chinese and English",
        )  # fmt: skip
    trained = (model.metadata.get("scripts") or {}) if model else {}
    if trained:
        ours = max(((k, v) for k, v in mix.items() if k in KNOWN), key=lambda kv: kv[1])[0]
        theirs = max(trained.items(), key=lambda kv: kv[1])[0]
        if ours != theirs:
            raise BadInput(
                "text",
                f"the model was trained on {LABELS.get(theirs, theirs)} text but this file is"
                f" mostly {LABELS.get(ours, ours)}",
            )
    return dict(mix)


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(
        f"n={result['n']}  accuracy={result['accuracy']:.3f}  "
        f"macro_f1={result['macro_f1']:.3f}  top3={result['top3_accuracy']:.3f}"
    )
    print(f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, v in result["per_class"].items():
        print(
            f"{label:<16}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>10.3f}"
            f"{v['support']:>9}"
        )


@app.command("train")
def train(
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    label_col: str = LABEL_COL,
    out: Path = typer.Option(..., "--out", help="directory to write the model to"),
    encoding: str | None = ENCODING,
) -> None:
    """Train a classifier on a labelled file and save it to a directory."""
    try:
        ds = load_labelled(data, text_col, label_col, encoding=encoding)
        _say(f"read {len(ds.texts)} texts ({ds.skipped} skipped) from {data.name}")
        scripts = _check_scripts(ds.texts)
        started = time.monotonic()
        model = TextClassifier()
        model.metadata.update(
            {
                "data_sha256": ds.fingerprint,
                "text_cols": text_col,
                "label_col": label_col,
                "scripts": scripts,
                # What the audit's drift check compares today's requests with.
                "profile": profile(ds.fields, ds.labels),
            }
        )
        model.fit(ds.fields, ds.labels, progress=_say)
        model.metadata["train_seconds"] = round(time.monotonic() - started, 2)
        model.save(out)
    except BadInput as exc:
        raise _fail(exc.message) from None
    except OSError as exc:
        raise _fail(str(exc)) from None
    _say(f"saved {len(model.labels)} classes to {out}")


@app.command("eval")
def evaluate(
    model_dir: Path = typer.Option(..., "--model", help="directory written by train"),
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    label_col: str = LABEL_COL,
    encoding: str | None = ENCODING,
    as_json: bool = AS_JSON,
) -> None:
    """Measure a saved classifier on a labelled file."""
    try:
        model = TextClassifier.load(model_dir)
        ds = load_labelled(data, text_col, label_col, encoding=encoding, min_classes=1)
        _check_scripts(ds.texts, model)
        _say(f"predicting {len(ds.texts)} texts")
        result = metrics(ds.labels, model.predict_top(ds.fields, k=3))
    except BadInput as exc:
        raise _fail(exc.message) from None
    _print(result, as_json)


@app.command("cv")
def cv(
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    label_col: str = LABEL_COL,
    folds: int = typer.Option(5, "--folds", min=2, help="number of stratified folds"),
    encoding: str | None = ENCODING,
    as_json: bool = AS_JSON,
) -> None:
    """Stratified k-fold cross-validation of the classifier on a labelled file."""
    try:
        ds = load_labelled(data, text_col, label_col, encoding=encoding)
        _say(f"read {len(ds.texts)} texts ({ds.skipped} skipped) from {data.name}")
        _check_scripts(ds.texts)
        started = time.monotonic()
        result = cross_validate(ds.fields, ds.labels, folds=folds, progress=_say)
        result["seconds"] = round(time.monotonic() - started, 2)
    except BadInput as exc:
        raise _fail(exc.message) from None
    _print(result, as_json)


app.command("retrain")(retrain_cmd)
app.command("duplicates")(duplicates)
app.command("replies")(replies)
app.add_typer(models_app, name="models")

if __name__ == "__main__":
    app()
