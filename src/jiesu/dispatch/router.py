"""The learned dispatch router: which handling unit (承办单位) should get a request, learnt from
history, from the request's text, its category and its area.

Two views, combined:

* Text: ``jiesu.nlp.model.TextClassifier`` over the units (character n-grams, SVM + NB-SVM,
  calibrated probabilities). Text alone cannot tell two street offices apart when the
  complaint reads the same in both streets.
* History: P(unit | category, area) counted from the training rows, smoothed with Dirichlet
  backoff from the finest context to the coarsest — leaf category + finest area level →
  leaf category + coarser area level → leaf category → parent category → every row:
  ``p_k(u) = (n_k(u) + α·p_{k+1}(u)) / (n_k + α)``, so a context seen often speaks for
  itself and a rare one borrows its parent's distribution. A second chain, P(unit | area)
  alone, carries the territorial units (street offices own whatever happens on their streets
  whatever the category).

The views are combined as ``softmax(w_t·log p_text + w_c·log p_category,area + w_a·log p_area)``
with non-negative weights fitted by log-loss on a held-out slice of the training rows (the text
model and the counts fitted without that slice, so neither has seen it): a view that does not
help gets a weight near 0, and the weights calibrate the probabilities too. α is chosen on the
same slice. The counts are then redone on all rows; the text model reads a capped sample of
the rows (its SVMs cost rows × units) and is refitted only when the slice was a real share of
it (``jiesu.dispatch.router_fit``).

Saving writes plain files only: ``router.json``, ``prior.npz`` (read with
``allow_pickle=False``) and the text model's own directory ``text/``; loading runs no code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jiesu.dispatch.router_fit import fit_router
from jiesu.dispatch.router_history import HistoryPrior, path_prefixes, resolve_aliases
from jiesu.dispatch.router_history import relabel_units as relabel_units
from jiesu.errors import BadInput
from jiesu.nlp.model import Doc, TextClassifier

FORMAT = "jiesu-unit-router/1"
ROUTER_FILE = "router.json"
PRIOR_FILE = "prior.npz"
TEXT_DIR = "text"
# The probability given to a unit the text model does not know (it was missing from the part
# the weights were fitted on): small, but not -inf, so the history can still bring it back.
FLOOR = 1e-6
Top = list[list[tuple[str, float]]]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RouteExample:
    """One request: its text (or fields, subject first); category and area as codes or
    ``/``-separated paths from coarse to fine ("城乡建设/市政管理/路灯", "朝阳区/望京街道")."""

    text: Doc
    category: str | None = None
    area: str | None = None


@dataclass
class RouterParams:
    # The history prior joins the text model (weights fitted on a held-out slice).
    prior: bool = True
    # Category and area are also given to the text model, as a field of their own (its
    # "subject" blocks), so that it can learn their interactions with words.
    tokens: bool = False
    holdout: float = 0.2
    # At most this many held-out rows: a few thousand fix three weights well enough.
    max_holdout: int = 5_000
    # The text model fitted without the held-out rows is kept when they are at most this
    # share of all rows: refitting doubles the training time (the SVMs dominate it) for a few
    # per cent more rows, where the text's learning curve is already flat.
    keep_share: float = 0.1
    # The text model reads at most about this many rows (a sample, every unit kept); the
    # history counts read them all. The SVMs' cost grows with rows times units, and a city's
    # history runs to millions of rows.
    max_text_rows: int | None = 20_000
    # With the history view, the text model reads each (text, unit) pair at most this many
    # times: exports repeat the same short titles thousands of times, and how often each went
    # where is what the history counts hold. On Boston 311 this cut training 13-fold at equal
    # accuracy; without the history it would lose the base rates (top-1 0.68 → 0.48).
    max_copies: int | None = 3

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RouterParams:
        out = cls(**{f.name: d[f.name] for f in fields(cls)})
        defaults = cls()
        for f in fields(cls):
            value, default = getattr(out, f.name), getattr(defaults, f.name)
            if default is not None and not isinstance(value, type(default)):
                raise ValueError(f"params.{f.name}: {value!r}")
        return out


def _context_field(example: RouteExample) -> str:
    # Every level as a term of its own: the coarse levels are shared between leaves.
    terms = [f"c:{p}" for p in path_prefixes(example.category)]
    terms += [f"a:{p}" for p in path_prefixes(example.area)]
    return " ".join(terms)


@dataclass
class UnitRouter:
    params: RouterParams = field(default_factory=RouterParams)
    units: list[str] = field(default_factory=list)
    text: TextClassifier = field(default_factory=TextClassifier)
    prior: HistoryPrior | None = None
    # Of log p_text, log p(unit | category, area), log p(unit | area).
    weights: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0])
    # Old unit name → current one, applied to predictions (see relabel).
    aliases: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- training --------------------------------------------------------------------------

    def docs(self, examples: Sequence[RouteExample]) -> list[Doc]:
        """What the text model reads: the text, after the category and area (``tokens``)."""
        if not self.params.tokens:
            return [ex.text for ex in examples]
        out: list[Doc] = []
        for ex in examples:
            body = (ex.text,) if isinstance(ex.text, str) else ex.text
            out.append((_context_field(ex), *body))
        return out

    def fit(
        self,
        examples: Sequence[RouteExample],
        units: Sequence[str],
        *,
        progress: Progress | None = None,
    ) -> UnitRouter:
        say = progress or (lambda _msg: None)
        if len(examples) != len(units):
            raise BadInput("units", f"{len(examples)} examples but {len(units)} units")
        self.units = sorted(set(units))
        if len(self.units) < 2:
            raise BadInput("units", "need at least two units")
        index = {u: i for i, u in enumerate(self.units)}
        y = np.array([index[u] for u in units], dtype=np.int64)
        fit_router(self, examples, y, say)
        self.metadata.update(
            {
                "n": len(examples),
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "weights": self.weights,
            }
        )
        return self

    # -- prediction ------------------------------------------------------------------------

    def text_log_proba(
        self, text: TextClassifier, examples: Sequence[RouteExample]
    ) -> NDArray[np.float64]:
        """log p_text over ``self.units`` (the text model may know fewer units)."""
        out = np.full((len(examples), len(self.units)), np.log(FLOOR))
        if not examples:
            return out
        index = {u: i for i, u in enumerate(self.units)}
        cols = np.array([index[lab] for lab in text.labels], dtype=np.int64)
        out[:, cols] = np.log(np.maximum(text.predict_proba(self.docs(examples)), FLOOR))
        return out

    def predict_proba(self, examples: Sequence[RouteExample]) -> NDArray[np.float64]:
        """One probability per example and unit of ``self.units`` (before aliases)."""
        if not self.units:
            raise BadInput("model", "the router is not trained")
        if self.prior is None:
            proba: NDArray[np.float64] = self.text.predict_proba(self.docs(examples))
            return proba
        z = self.weights[0] * self.text_log_proba(self.text, examples)
        joint, area = self.prior.log_proba(examples)
        z += self.weights[1] * joint + self.weights[2] * area
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
        return out

    def predict_top(self, examples: Sequence[RouteExample], k: int = 3) -> Top:
        """The ``k`` likeliest current units of each example with probabilities, best first;
        units renamed by ``relabel`` are merged into their current name."""
        proba = self.predict_proba(examples)
        names = self.units
        if self.aliases:
            names = sorted({self.aliases.get(u, u) for u in self.units})
            where = {u: i for i, u in enumerate(names)}
            cols = np.array([where[self.aliases.get(u, u)] for u in self.units], dtype=np.int64)
            merged = np.zeros((len(proba), len(names)))
            np.add.at(merged.T, cols, proba.T)
            proba = merged
        k = max(1, min(k, len(names)))
        # Stable sort so ties break by name, identically before and after a save.
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return [
            [(names[j], float(row[j])) for j in idx] for row, idx in zip(proba, order, strict=True)
        ]

    def relabel(self, aliases: Mapping[str, str]) -> None:
        """Units renamed or merged since training: predictions name the current unit, with
        the probabilities of its old names added up."""
        final = resolve_aliases({**self.aliases, **aliases})
        self.aliases = {u: final[u] for u in self.units if u in final}

    # -- persistence -----------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.text.save(directory / TEXT_DIR)
        doc = {
            "format": FORMAT,
            "units": self.units,
            "params": self.params.to_dict(),
            "weights": self.weights,
            "aliases": self.aliases,
            "prior": self.prior.to_json() if self.prior else None,
            "metadata": self.metadata,
        }
        (directory / ROUTER_FILE).write_text(
            json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        if self.prior:
            np.savez_compressed(directory / PRIOR_FILE, **self.prior.arrays())
        else:
            (directory / PRIOR_FILE).unlink(missing_ok=True)

    @classmethod
    def load(cls, directory: Path) -> UnitRouter:
        if not directory.is_dir():
            raise BadInput("model", f"{directory} is not a directory")
        try:
            doc = json.loads((directory / ROUTER_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadInput("model", f"{directory}: no {ROUTER_FILE}; not a router") from None
        except (ValueError, OSError) as exc:
            raise BadInput("model", f"{directory}: unreadable router ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise BadInput("model", f"{directory}: not a {FORMAT} router")
        text = TextClassifier.load(directory / TEXT_DIR)
        try:
            units = [str(u) for u in doc["units"]]
            router = cls(
                params=RouterParams.from_dict(doc["params"]),
                units=units,
                text=text,
                weights=[float(w) for w in doc["weights"]],
                aliases={str(k): str(v) for k, v in doc["aliases"].items()},
                metadata=dict(doc.get("metadata", {})),
            )
            if doc["prior"] is not None:
                with np.load(directory / PRIOR_FILE, allow_pickle=False) as arrays:
                    router.prior = HistoryPrior.from_saved(doc["prior"], arrays, len(units))
        except FileNotFoundError:
            raise BadInput("model", f"{directory}: no {PRIOR_FILE}") from None
        except (KeyError, ValueError, TypeError, AttributeError, OSError) as exc:
            raise BadInput("model", f"{directory}: unreadable router ({exc})") from exc
        if text.labels != units or len(router.weights) != 3:
            raise BadInput("model", f"{directory}: the text model's units do not match")
        return router
