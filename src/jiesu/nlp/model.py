"""A text classifier for citizen requests: TF-IDF on characters and words, a linear SVM, and
probabilities from a softmax of its scores.

Why these choices:

* Character 1–3-grams need no word segmentation, survive typos and unseen place names;
  words from ``rjieba`` (when installed) add whole-term evidence such as "拖欠工资".
* A request often has a short subject line and a long body. Given as several fields (a tuple
  of texts, subject first), the subject gets character and word blocks of its own as well, so
  the body cannot drown it; the joined text is always featurised too.
* ``LinearSVC`` with balanced class weights is fast, strong on sparse text and does not let
  the big categories swallow the small ones.
* An SVM gives scores, not probabilities. We fit a single temperature ``T`` and use
  ``softmax(T * scores)``: ``T`` is chosen to minimise the log-loss of out-of-fold scores
  (an inner 3-fold split), so confidence is honest rather than the overfit training scores.
  This keeps the ranking of the SVM unchanged and saves as one number.

Saving writes ``model.json`` (labels, vocabularies, parameters, metadata) and ``arrays.npz``
(idf vectors, coefficients, intercepts) read with ``allow_pickle=False``: loading a model
never runs code from the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize as l2_normalize
from sklearn.svm import LinearSVC

from jiesu.errors import BadInput
from jiesu.nlp.normalize import normalize

FORMAT = "jiesu-text-classifier/1"
MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
# A document is one text, or several fields of one request with the subject line first.
Doc = str | tuple[str, ...]
TEMPERATURES = np.exp(np.linspace(math.log(0.1), math.log(100.0), 61))

try:
    import rjieba

    def _words(text: str) -> list[str]:
        # Single characters are already covered by the character n-grams; spaces are noise.
        return [w for w in rjieba.cut(text) if len(w) > 1 and not w.isspace()]

    HAVE_WORDS = True
except ImportError:  # pragma: no cover - rjieba is a declared dependency
    HAVE_WORDS = False

    def _words(text: str) -> list[str]:
        raise BadInput("model", "this model uses words; install rjieba")


@dataclass
class Params:
    char_ngrams: tuple[int, int] = (1, 3)
    # Words are used only if rjieba is importable at training time; recorded in the model.
    words: bool = True
    # A term seen in one training text only cannot generalise and mostly adds noise (names,
    # house numbers); small corpora fall back to 1 when nothing else would remain.
    min_df: int = 2
    max_features: int | None = 200_000
    c: float = 0.5
    # Set at training time when documents come as fields; recorded in the model.
    subject: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "char_ngrams": list(self.char_ngrams),
            "words": self.words,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "c": self.c,
            "subject": self.subject,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        lo, hi = d["char_ngrams"]
        max_features = d["max_features"]
        return cls(
            (int(lo), int(hi)),
            bool(d["words"]),
            int(d["min_df"]),
            None if max_features is None else int(max_features),
            float(d["c"]),
            bool(d.get("subject", False)),
        )


@dataclass
class _Block:
    """One TF-IDF feature block, rebuilt from vocabulary and idf alone."""

    name: str
    vocabulary: dict[str, int]
    idf: NDArray[np.float64]

    def counter(self, params: Params) -> CountVectorizer:
        if self.name.endswith("char"):
            return CountVectorizer(
                analyzer="char_wb",
                ngram_range=params.char_ngrams,
                vocabulary=self.vocabulary,
                lowercase=False,
            )
        return CountVectorizer(analyzer=_words, vocabulary=self.vocabulary)

    def transform(self, docs: Sequence[tuple[str, str]], params: Params) -> sp.csr_matrix:
        texts = [subject if self.name.startswith("subject_") else full for full, subject in docs]
        counts = sp.csr_matrix(self.counter(params).transform(texts), dtype=np.float64)
        # Sublinear tf, as TfidfVectorizer(sublinear_tf=True) does, then idf and L2 norm.
        np.log(counts.data, out=counts.data)
        counts.data += 1.0
        weighted = counts @ sp.diags(self.idf)
        return sp.csr_matrix(l2_normalize(weighted))


def _fit_block(name: str, docs: Sequence[tuple[str, str]], params: Params) -> _Block | None:
    texts = [subject if name.startswith("subject_") else full for full, subject in docs]
    vec: TfidfVectorizer
    if name.endswith("char"):
        vec = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=params.char_ngrams,
            lowercase=False,
            sublinear_tf=True,
            min_df=params.min_df,
            max_features=params.max_features,
        )
    else:
        vec = TfidfVectorizer(
            analyzer=_words,
            sublinear_tf=True,
            min_df=params.min_df,
            max_features=params.max_features,
        )
    try:
        vec.fit(texts)
    except ValueError:
        # Too few texts for min_df: keep every term rather than fail.
        vec.set_params(min_df=1)
        try:
            vec.fit(texts)
        except ValueError:
            # No terms at all (e.g. texts of single characters have no words): no block.
            return None
    vocabulary = {str(k): int(v) for k, v in vec.vocabulary_.items()}
    return _Block(name, vocabulary, np.asarray(vec.idf_, dtype=np.float64))


def _prepare(doc: Doc) -> tuple[str, str]:
    """The normalised joined text and the normalised subject ("" for a single text)."""
    if isinstance(doc, str):
        return normalize(doc), ""
    fields = [f for f in doc if f]
    subject = normalize(doc[0]) if len(doc) > 1 and doc[0] else ""
    return normalize("\n".join(fields)), subject


def _softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def _best_temperature(scores: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    best, best_loss = 1.0, math.inf
    rows = np.arange(len(y))
    for t in TEMPERATURES:
        p = _softmax(scores, float(t))[rows, y]
        loss = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


@dataclass
class TextClassifier:
    params: Params = field(default_factory=Params)
    labels: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    coef: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    intercept: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    temperature: float = 1.0
    metadata: dict[str, Any] = field(default_factory=dict)

    # -- training --------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[Doc],
        labels: Sequence[str],
        *,
        calibrate: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> TextClassifier:
        say = progress or (lambda _msg: None)
        if len(texts) != len(labels):
            raise BadInput("labels", f"{len(texts)} texts but {len(labels)} labels")
        self.labels = sorted(set(labels))
        if len(self.labels) < 2:
            raise BadInput("labels", "need at least two classes")
        clean = [_prepare(t) for t in texts]
        self.params.subject = any(subject for _, subject in clean)
        y = np.array([self.labels.index(lab) for lab in labels], dtype=np.int64)
        say(f"features for {len(clean)} texts")
        self.params.words = self.params.words and HAVE_WORDS
        names = ["char", "word"] if self.params.words else ["char"]
        if self.params.subject:
            names += [f"subject_{n}" for n in names]
        self.blocks = [b for b in (_fit_block(n, clean, self.params) for n in names) if b]
        if not self.blocks:
            raise BadInput("texts", "no usable characters in the texts")
        x = self._features_clean(clean)
        say(f"linear model on {x.shape[1]} features, {len(self.labels)} classes")
        self.coef, self.intercept = self._svm(x, y)
        self.temperature = 1.0
        if calibrate:
            say("calibrating probabilities")
            self.temperature = self._calibrate(list(texts), y)
        self.metadata.update(
            {
                "n": len(clean),
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "class_counts": {lab: int((y == i).sum()) for i, lab in enumerate(self.labels)},
            }
        )
        return self

    def _svm(
        self, x: sp.csr_matrix, y: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        svm = LinearSVC(C=self.params.c, class_weight="balanced")
        svm.fit(x, y)
        coef = np.asarray(svm.coef_, dtype=np.float64)
        intercept = np.asarray(svm.intercept_, dtype=np.float64)
        if len(self.labels) == 2:
            # Binary SVMs keep one row (the positive class); two rows make scores uniform.
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return coef, intercept

    def _calibrate(self, docs: list[Doc], y: NDArray[np.int64]) -> float:
        smallest = int(np.bincount(y).min())
        folds = min(3, smallest)
        if folds < 2:
            return 1.0
        scores = np.zeros((len(y), len(self.labels)))
        split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for train, test in split.split(np.zeros(len(y)), y):
            inner = TextClassifier(Params.from_dict(self.params.to_dict()))
            inner.fit([docs[i] for i in train], [self.labels[i] for i in y[train]], calibrate=False)
            part = inner.decision([docs[i] for i in test])
            # The inner model may lack a class absent from its training part: align by label.
            for j, lab in enumerate(inner.labels):
                scores[test, self.labels.index(lab)] = part[:, j]
            for lab in set(self.labels) - set(inner.labels):
                scores[test, self.labels.index(lab)] = -10.0
        return _best_temperature(scores, y)

    # -- prediction ------------------------------------------------------------------------

    def _features_clean(self, clean: Sequence[tuple[str, str]]) -> sp.csr_matrix:
        return sp.csr_matrix(sp.hstack([b.transform(clean, self.params) for b in self.blocks]))

    def decision(self, texts: Sequence[Doc]) -> NDArray[np.float64]:
        if not self.labels:
            raise BadInput("model", "not trained")
        x = self._features_clean([_prepare(t) for t in texts])
        out: NDArray[np.float64] = np.asarray(x @ self.coef.T) + self.intercept
        return out

    def predict_proba(self, texts: Sequence[Doc]) -> NDArray[np.float64]:
        return _softmax(self.decision(texts), self.temperature)

    def predict(self, texts: Sequence[Doc]) -> list[str]:
        return [self.labels[i] for i in self.decision(texts).argmax(axis=1)]

    def predict_top(self, texts: Sequence[Doc], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest labels of each text with their probabilities, best first."""
        proba = self.predict_proba(texts)
        k = max(1, min(k, len(self.labels)))
        # Stable sort so ties break by label order, identically before and after a save.
        order = np.argsort(-proba, axis=1, kind="stable")[:, :k]
        return [
            [(self.labels[j], float(row[j])) for j in idx]
            for row, idx in zip(proba, order, strict=True)
        ]

    # -- persistence -----------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        doc = {
            "format": FORMAT,
            "labels": self.labels,
            "params": self.params.to_dict(),
            "temperature": self.temperature,
            "blocks": [{"name": b.name, "vocabulary": b.vocabulary} for b in self.blocks],
            "metadata": self.metadata,
        }
        (directory / MODEL_FILE).write_text(
            json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        arrays: dict[str, Any] = {f"idf_{b.name}": b.idf for b in self.blocks}
        arrays.update(coef=self.coef, intercept=self.intercept)
        np.savez_compressed(directory / ARRAYS_FILE, **arrays)

    @classmethod
    def load(cls, directory: Path) -> TextClassifier:
        try:
            doc = json.loads((directory / MODEL_FILE).read_text(encoding="utf-8"))
            arrays = np.load(directory / ARRAYS_FILE, allow_pickle=False)
        except FileNotFoundError as exc:
            raise BadInput("model", f"{directory}: no {Path(str(exc.filename)).name}") from exc
        except (ValueError, OSError) as exc:
            raise BadInput("model", f"{directory}: unreadable model ({exc})") from exc
        with arrays:
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise BadInput("model", f"{directory}: not a {FORMAT} model")
            try:
                params = Params.from_dict(doc["params"])
                # Arrays are read lazily: a missing name or an object array fails here.
                blocks = [
                    _Block(
                        str(b["name"]),
                        {str(k): int(v) for k, v in b["vocabulary"].items()},
                        np.asarray(arrays[f"idf_{b['name']}"], dtype=np.float64),
                    )
                    for b in doc["blocks"]
                ]
                coef = np.asarray(arrays["coef"], dtype=np.float64)
                intercept = np.asarray(arrays["intercept"], dtype=np.float64)
                labels = [str(lab) for lab in doc["labels"]]
                temperature = float(doc["temperature"])
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise BadInput("model", f"{directory}: unreadable model ({exc})") from exc
        if params.words and not HAVE_WORDS:
            raise BadInput("model", "this model uses words; install rjieba")
        n_features = sum(len(b.vocabulary) for b in blocks)
        if (
            coef.shape != (len(labels), n_features)
            or intercept.shape != (len(labels),)
            or any(b.idf.shape != (len(b.vocabulary),) for b in blocks)
        ):
            raise BadInput("model", f"{directory}: arrays do not match the vocabulary")
        return cls(
            params=params,
            labels=labels,
            blocks=blocks,
            coef=coef,
            intercept=intercept,
            temperature=temperature,
            metadata=dict(doc.get("metadata", {})),
        )
