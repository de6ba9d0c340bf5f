"""``jiesu dispatch train|eval|cv``: train, measure and cross-validate the unit router from a
file of historical requests (text, category, area and the unit that handled each)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from jiesu.dispatch.router import RouterParams, UnitRouter
from jiesu.dispatch.router_data import baseline, folds, holdout, load_history, subset
from jiesu.errors import BadInput
from jiesu.nlp.cliout import fail, say
from jiesu.nlp.dataset import fingerprint
from jiesu.nlp.evaluate import Top, metrics
from jiesu.nlp.language import dominant_script

router_app = typer.Typer(
    help="The learned dispatch router: which unit should handle a request.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DATA = typer.Option(..., "--data", help="CSV, XLSX or JSONL file of handled requests")
TEXT_COLS = typer.Option(..., "--text-col", help="text column; repeat to join several")
CATEGORY_COLS = typer.Option(
    [], "--category-col", help="category column; repeat for levels, coarse to fine"
)
AREA_COLS = typer.Option([], "--area-col", help="area column; repeat for levels, coarse to fine")
LABEL_COL = typer.Option(..., "--label-col", help="column with the unit that handled it")
ALIASES = typer.Option(
    None, "--aliases", help="CSV with columns alias,unit: old unit names → current ones"
)
ENCODING = typer.Option(None, "--encoding", help="file encoding (default: detected)")
AS_JSON = typer.Option(False, "--json", help="print the figures as JSON")
PRIOR = typer.Option(True, "--prior/--no-prior", help="combine the text with unit history")
TOKENS = typer.Option(False, "--tokens/--no-tokens", help="also give category/area to the text")
MAX_TEXT_ROWS = typer.Option(
    RouterParams().max_text_rows,
    "--max-text-rows",
    min=100,
    help="the text model reads a sample of at most about this many rows (history reads all)",
)
MAX_COPIES = typer.Option(
    RouterParams().max_copies or 0,
    "--max-copies",
    min=0,
    help="with --prior, the text model reads each (text, unit) pair at most this often (0: all)",
)


def _params(prior: bool, tokens: bool, max_text_rows: int, max_copies: int) -> RouterParams:
    return RouterParams(prior, tokens, max_text_rows=max_text_rows, max_copies=max_copies or None)


def _fail(message: str) -> typer.Exit:
    if dominant_script(message) == "mojibake" and "--encoding" not in message:
        message += "\n(the file looks mis-decoded: give its encoding with --encoding, e.g. gb18030)"
    return fail(message)


def _scores(truth: list[str], top: Top) -> dict[str, Any]:
    result = metrics(truth, top)
    result["top1_accuracy"] = result["accuracy"]
    return result


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(
        f"n={result['n']}  top1={result['top1_accuracy']:.3f}  top3={result['top3_accuracy']:.3f}"
        f"  macro_f1={result['macro_f1']:.3f}"
    )
    if "baseline" in result:
        base = result["baseline"]
        print(f"baseline ({base['what']}): top1={base['top1_accuracy']:.3f}")
    print(f"{'unit':<32}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for label, v in result["per_class"].items():
        print(
            f"{label[:31]:<32}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>10.3f}"
            f"{v['support']:>9}"
        )


@router_app.command("train")
def train(
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    category_col: list[str] = CATEGORY_COLS,
    area_col: list[str] = AREA_COLS,
    label_col: str = LABEL_COL,
    aliases: Path | None = ALIASES,
    out: Path = typer.Option(..., "--out", help="directory to write the router to"),
    prior: bool = PRIOR,
    tokens: bool = TOKENS,
    max_text_rows: int = MAX_TEXT_ROWS,
    max_copies: int = MAX_COPIES,
    encoding: str | None = ENCODING,
) -> None:
    """Train a router on handled requests and save it to a directory."""
    try:
        d = load_history(
            data, text_col, category_col, area_col, label_col,
            encoding=encoding, aliases=aliases, say=say,
        )  # fmt: skip
        started = time.monotonic()
        router = UnitRouter(params=_params(prior, tokens, max_text_rows, max_copies))
        router.metadata.update(
            data_sha256=fingerprint(data),
            text_cols=text_col,
            category_cols=category_col,
            area_cols=area_col,
            label_col=label_col,
        )
        router.fit(d.examples, d.units, progress=say)
        router.metadata["train_seconds"] = round(time.monotonic() - started, 2)
        router.save(out)
    except BadInput as exc:
        raise _fail(exc.message) from None
    except OSError as exc:
        raise _fail(str(exc)) from None
    say(f"saved a router over {len(router.units)} units to {out}")


@router_app.command("eval")
def evaluate(
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    category_col: list[str] = CATEGORY_COLS,
    area_col: list[str] = AREA_COLS,
    label_col: str = LABEL_COL,
    model_dir: Path | None = typer.Option(
        None, "--model", help="saved router; without it: train on 80%, score the other 20%"
    ),
    time_col: str | None = typer.Option(
        None, "--time-col", help="hold out the latest 20% by this column (not a random 20%)"
    ),
    aliases: Path | None = ALIASES,
    prior: bool = PRIOR,
    tokens: bool = TOKENS,
    max_text_rows: int = MAX_TEXT_ROWS,
    max_copies: int = MAX_COPIES,
    encoding: str | None = ENCODING,
    as_json: bool = AS_JSON,
) -> None:
    """Measure a saved router on a file, or train on 80% of it and measure on the rest."""
    try:
        if model_dir is not None:
            try:
                router = UnitRouter.load(model_dir)
            except BadInput as exc:
                raise BadInput("--model", exc.fields[0]["problem"]) from None
            d = load_history(
                data, text_col, category_col, area_col, label_col,
                encoding=encoding, aliases=aliases, say=say,
            )  # fmt: skip
            say(f"routing {len(d.examples)} rows")
            result = _scores(d.units, router.predict_top(d.examples, k=3))
            result["split"] = "saved model"
        else:
            d = load_history(
                data, text_col, category_col, area_col, label_col,
                encoding=encoding, aliases=aliases, time_col=time_col, say=say,
            )  # fmt: skip
            fit, test, how = holdout(d, say=say)
            say(f"{how} holdout: training on {len(fit.units)}, testing on {len(test.units)}")
            started = time.monotonic()
            router = UnitRouter(params=_params(prior, tokens, max_text_rows, max_copies))
            router.fit(fit.examples, fit.units, progress=say)
            seconds = round(time.monotonic() - started, 2)
            result = _scores(test.units, router.predict_top(test.examples, k=3))
            result.update(split=how, train_n=len(fit.units), train_seconds=seconds)
            result["text_rows"] = router.metadata["text_rows"]
            if category_col:
                result["baseline"] = baseline(fit, test)
        result["weights"] = router.weights if router.prior else None
    except BadInput as exc:
        raise _fail(exc.message) from None
    _print(result, as_json)


@router_app.command("cv")
def cv(
    data: Path = DATA,
    text_col: list[str] = TEXT_COLS,
    category_col: list[str] = CATEGORY_COLS,
    area_col: list[str] = AREA_COLS,
    label_col: str = LABEL_COL,
    n_folds: int = typer.Option(5, "--folds", min=2, help="number of stratified folds"),
    aliases: Path | None = ALIASES,
    prior: bool = PRIOR,
    tokens: bool = TOKENS,
    max_text_rows: int = MAX_TEXT_ROWS,
    max_copies: int = MAX_COPIES,
    encoding: str | None = ENCODING,
    as_json: bool = AS_JSON,
) -> None:
    """Stratified k-fold cross-validation of the router on a file."""
    try:
        d = load_history(
            data, text_col, category_col, area_col, label_col,
            encoding=encoding, aliases=aliases, say=say,
        )  # fmt: skip
        started = time.monotonic()
        top: Top = [[] for _ in d.units]
        fold_f1: list[float] = []
        for i, (fit_idx, test_idx) in enumerate(folds(d, n_folds), start=1):
            say(f"fold {i}/{n_folds}: training on {len(fit_idx)}, testing on {len(test_idx)}")
            fit, test = subset(d, fit_idx), subset(d, test_idx)
            router = UnitRouter(params=_params(prior, tokens, max_text_rows, max_copies))
            predicted = router.fit(fit.examples, fit.units).predict_top(test.examples, k=3)
            for j, row in zip(test_idx, predicted, strict=True):
                top[j] = row
            fold_f1.append(metrics(test.units, predicted)["macro_f1"])
        result = _scores(d.units, top)
        result.update(folds=n_folds, fold_macro_f1=fold_f1)
        result["seconds"] = round(time.monotonic() - started, 2)
    except BadInput as exc:
        raise _fail(exc.message) from None
    _print(result, as_json)


if __name__ == "__main__":
    router_app()
