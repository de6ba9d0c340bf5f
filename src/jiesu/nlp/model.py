"""A text classifier for citizen requests: TF-IDF on character n-grams (and words, for
alphabetic languages), a linear SVM and an NB-SVM stacked, probabilities from a softmax.

Why these choices:

* Character 1–3-grams need no word segmentation, survive typos and unseen place names, and
  hold Chinese words, which are mostly one to three characters long. Texts written mostly
  in letters also get a block of whole words (``rjieba``): their words are longer.
* A request often has a short subject line and a long body. Given as several fields (a tuple
  of texts, subject first), the subject gets blocks of its own as well, so the body cannot
  drown it; the joined text is always featurised too.
* ``LinearSVC`` with balanced class weights is fast, strong on sparse text and does not let
  the big categories swallow the small ones. An NB-SVM (Wang & Manning, 2012) on term
  presence is a second, different view that helps most on short texts and small data.
* Stacking: an inner 3-fold split of the training data gives out-of-fold scores of both
  members, and two non-negative weights minimising the log-loss of
  ``softmax(a_svm * svm + a_nb * nb)`` are fitted on them. They blend the members (a member
  that does not help gets ~0) and calibrate the probabilities at once, from the training
  data only.
* Labels may be paths ("城乡建设/市政管理/路灯"), with ``Params.path_sep``: each level of the
  path gets members of its own and a leaf scores the sum of its levels' log-probabilities, so
  the leaves ranked first sit under likely parents and rare leaves borrow strength from their
  parents' examples.

Speed: character n-grams are never built as Python strings. The texts of a batch become one
array of code points and every n-gram one 64-bit key (exact up to 3 characters: 21 bits
each; a marked 63-bit hash beyond), looked up in an open-addressing hash table probed for the
whole batch with numpy.

Saving writes ``model.json`` (labels, terms, parameters, weights, metadata) and
``arrays.npz`` (idf vectors, coefficients, intercepts) read with ``allow_pickle=False``:
loading a model never runs code from the file.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from jiesu.errors import BadInput
from jiesu.nlp.normalize import HAVE_T2S, normalize

FORMAT = "jiesu-text-classifier/2"
# Formats this version recognises but can no longer read: a clear message, not a crash.
_OLD_FORMATS = ("jiesu-text-classifier/1",)
MODEL_FILE = "model.json"
ARRAYS_FILE = "arrays.npz"
# A document is one text, or several fields of one request with the subject line first.
Doc = str | tuple[str, ...]
TEMPERATURES = np.exp(np.linspace(math.log(0.1), math.log(100.0), 61))
# liblinear's defaults (1e-4, 1000) take minutes on 20,000 noisy texts of 100+ classes and
# gave the same predictions in our measurements as these.
SVM_TOL = 1e-3
SVM_MAX_ITER = 300
# NB-SVM: additive smoothing of the counts and the interpolation of Wang & Manning (2012).
NB_ALPHA = 1.0
NB_BETA = 0.25
# Upper bound of a member's stacking weight (a weight is also an inverse temperature).
MAX_WEIGHT = 100.0

try:
    import rjieba

    def _tokens(text: str) -> list[str]:
        return rjieba.cut(text)  # type: ignore[no-any-return]

    HAVE_WORDS = True
except ImportError:  # pragma: no cover - rjieba is a declared dependency
    HAVE_WORDS = False

    def _tokens(text: str) -> list[str]:
        raise BadInput("model", "this model uses words; install rjieba")


def _words(text: str) -> list[str]:
    # Single characters are already covered by the character n-grams; spaces are noise.
    return [w for w in _tokens(text) if len(w) > 1 and not w.isspace()]


@dataclass
class Params:
    char_ngrams: tuple[int, int] = (1, 3)
    # A block of words (rjieba; used only if importable at training time). None: decided from
    # the training texts (see _wants_words); the decision is recorded in the model.
    words: bool | None = None
    # Pairs of neighbouring words ("暖气 不热") as terms of the word block too.
    word_bigrams: bool = False
    # A term seen in one training text only cannot generalise and mostly adds noise (names,
    # house numbers); small corpora fall back to 1 when nothing else would remain.
    min_df: int = 2
    max_features: int | None = 200_000
    # Of both linear SVMs. Texts are nearly separable in these many features, so results
    # barely move with C (see docs/nlp.md).
    c: float = 0.5
    # An NB-SVM on term presence joins the TF-IDF SVM; their weights are learnt (stacking).
    nb: bool = True
    # Set at training time when documents come as fields; recorded in the model.
    subject: bool = False
    # Only the first characters of the joined text (subject first) are read; None: all.
    max_chars: int | None = None
    # Words are cut from the first characters of the joined text only (the costliest step of
    # prediction is the word segmenter); None: all of it. The subject is always cut whole.
    word_chars: int | None = None
    # Labels are paths such as "A/B/C" split at this separator; None: plain labels.
    path_sep: str | None = None
    # Traditional characters were turned into simplified ones by normalize() (opencc).
    t2s: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "char_ngrams": list(self.char_ngrams),
            "words": self.words,
            "word_bigrams": self.word_bigrams,
            "min_df": self.min_df,
            "max_features": self.max_features,
            "c": self.c,
            "nb": self.nb,
            "subject": self.subject,
            "max_chars": self.max_chars,
            "word_chars": self.word_chars,
            "path_sep": self.path_sep,
            "t2s": self.t2s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Params:
        lo, hi = d["char_ngrams"]

        def _opt_int(value: Any) -> int | None:
            return None if value is None else int(value)

        return cls(
            char_ngrams=(int(lo), int(hi)),
            words=None if d["words"] is None else bool(d["words"]),
            word_bigrams=bool(d.get("word_bigrams", False)),
            min_df=int(d["min_df"]),
            max_features=_opt_int(d["max_features"]),
            c=float(d["c"]),
            nb=bool(d.get("nb", False)),
            subject=bool(d.get("subject", False)),
            max_chars=_opt_int(d.get("max_chars")),
            word_chars=_opt_int(d.get("word_chars")),
            path_sep=None if d.get("path_sep") is None else str(d["path_sep"]),
            t2s=bool(d.get("t2s", False)),
        )


# -- character n-grams as 64-bit keys -------------------------------------------------------

_BITS = np.uint64(21)  # every Unicode code point fits in 21 bits
_MULT = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(31)
_HASHED = np.uint64(1 << 63)
_NEWLINE, _BLANK = 10, 32


def _gram_keys(columns: Sequence[NDArray[np.uint64]]) -> NDArray[np.uint64]:
    """Keys of n-grams given as n arrays (the j-th character of each n-gram). Up to three
    characters the key is the code points side by side, exact, below 2**63; longer n-grams
    get a 63-bit hash with the top bit set, so they never meet a shorter one."""
    if len(columns) <= 3:
        key = columns[0].copy()
        for col in columns[1:]:
            key <<= _BITS
            key |= col
        return key
    key = columns[0] * _MULT
    for col in columns[1:]:
        key ^= col
        key *= _MULT  # wraps modulo 2**64, as intended
    key ^= key >> _SHIFT
    key |= _HASHED
    return key


@dataclass
class _Grams:
    keys: NDArray[np.uint64]
    docs: NDArray[np.int64]
    # Where each n-gram starts in ``padded`` and how long it is: only kept when fitting.
    starts: NDArray[np.int64] | None = None
    sizes: NDArray[np.int64] | None = None
    padded: str = ""


def _char_grams(texts: Sequence[str], lo: int, hi: int, *, where: bool = False) -> _Grams:
    """Every character n-gram (``lo`` ≤ n ≤ ``hi``) of every text, as in scikit-learn's
    ``char_wb``: a text is padded with spaces and an n-gram never holds a space except at its
    ends. Texts are normalised, so they contain no line break: it separates them here."""
    padded = "".join(f" {t} \n" for t in texts)
    codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) + 3 for t in texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    blank = codes == _BLANK
    seps = np.concatenate(([0], np.cumsum(codes == _NEWLINE)))
    blanks = np.concatenate(([0], np.cumsum(blank)))
    keys, docs, starts, sizes = [], [], [], []
    for n in range(lo, hi + 1):
        m = len(codes) - n + 1
        if m <= 0:
            continue
        ok = seps[n : n + m] == seps[:m]
        if n == 1:
            ok &= ~blank[:m]
        elif n == 2:
            ok &= ~(blank[:m] & blank[1 : 1 + m])
        else:
            ok &= blanks[n - 1 : n - 1 + m] == blanks[1 : 1 + m]
        pos = np.flatnonzero(ok)
        keys.append(_gram_keys([codes[j : j + m] for j in range(n)])[pos])
        docs.append(owner[pos])
        if where:
            starts.append(pos)
            sizes.append(np.full(len(pos), n, dtype=np.int64))
    if not keys:
        return _Grams(np.zeros(0, np.uint64), np.zeros(0, np.int64))
    grams = _Grams(np.concatenate(keys), np.concatenate(docs))
    if where:
        grams.starts, grams.sizes, grams.padded = (
            np.concatenate(starts),
            np.concatenate(sizes),
            padded,
        )
    return grams


def _keys_of_terms(terms: Sequence[str]) -> NDArray[np.uint64]:
    """The keys of saved character n-grams, computed exactly as for a text."""
    out = np.zeros(len(terms), dtype=np.uint64)
    by_size: dict[int, list[int]] = {}
    for i, term in enumerate(terms):
        by_size.setdefault(len(term), []).append(i)
    for n, idx in by_size.items():
        joined = "".join(terms[i] for i in idx).encode("utf-32-le")
        codes = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64).reshape(len(idx), n)
        out[idx] = _gram_keys([codes[:, j] for j in range(n)])
    return out


class _KeyTable:
    """An open-addressing hash table from n-gram keys to column numbers, probed for a whole
    batch at once with numpy: a few passes over the batch instead of a binary search per
    n-gram. Key 0 never occurs (no text holds NUL), so it marks an empty slot."""

    def __init__(self, keys: NDArray[np.uint64]) -> None:
        bits = max(4, (max(1, len(keys)) * 4 - 1).bit_length())  # load ≤ 1/4
        self.mask = np.int64((1 << bits) - 1)
        self.shift = np.uint64(64 - bits)
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.values = np.full(1 << bits, -1, dtype=np.int64)
        home = self._home(keys)
        waiting = np.arange(len(keys))
        self.probes = 0
        while waiting.size:
            slot = (home[waiting] + self.probes) & self.mask
            free = self.values[slot] == -1
            # Several keys may want the same free slot: the first one gets it.
            taken, first = np.unique(slot[free], return_index=True)
            winners = waiting[free][first]
            self.keys[taken] = keys[winners]
            self.values[taken] = winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            waiting = waiting[~placed[waiting]]
            if waiting.size:
                self.probes += 1

    def _home(self, keys: NDArray[np.uint64]) -> NDArray[np.int64]:
        return ((keys * _MULT) >> self.shift).astype(np.int64)

    def find(self, keys: NDArray[np.uint64]) -> NDArray[np.int64]:
        """The column of each key, -1 for keys not in the table."""
        out = np.full(len(keys), -1, dtype=np.int64)
        home = self._home(keys)
        active = np.arange(len(keys))
        for probe in range(self.probes + 1):
            slot = (home[active] + probe) & self.mask
            there = self.keys[slot]
            wanted = keys[active]
            hit = there == wanted
            out[active[hit]] = self.values[slot[hit]]
            active = active[~hit & (there != 0)]
            if not active.size:
                break
        return out


# -- feature blocks ----------------------------------------------------------------------------


def _counts(
    rows: NDArray[np.int64], cols: NDArray[np.int64], n_docs: int, n_terms: int
) -> sp.csr_matrix:
    """How often each term (column) occurs in each text (row)."""
    x = sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(n_docs, n_terms), dtype=np.float64)
    x.sum_duplicates()
    return x


def _tfidf(counts: sp.csr_matrix, idf: NDArray[np.float64]) -> sp.csr_matrix:
    """Sublinear tf × idf, each row L2-normalised (as TfidfVectorizer(sublinear_tf=True))."""
    data = np.log(counts.data)
    data += 1.0
    data *= idf[counts.indices]
    n_docs = counts.shape[0]
    row_of = np.repeat(np.arange(n_docs), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=n_docs))
    data /= np.where(norms > 0, norms, 1.0)[row_of]
    return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def _presence(counts: sp.csr_matrix) -> sp.csr_matrix:
    """1 for each term present in a text: what the NB-SVM member reads."""
    data = np.ones(len(counts.data))
    return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[a-z]")
# Texts sampled to decide whether a word block is worth its cost.
_SAMPLE = 2000


def _wants_words(texts: Sequence[str]) -> bool:
    """A word block for texts written mostly in letters, none for Chinese. Chinese words are
    mostly one to three characters long, which the character 1–3-grams already hold: on our
    Chinese data a word block did not help (it lowered macro-F1 a little) and segmenting cost
    a third of prediction time. Words of alphabetic languages are longer than three letters:
    on English data (Boston 311) the word block helped."""
    step = max(1, len(texts) // _SAMPLE)
    sample = texts[::step]
    han = sum(len(_HAN.findall(t)) for t in sample)
    letters = sum(len(_LETTER.findall(t)) for t in sample)
    return letters > han


def _word_terms(text: str, params: Params) -> list[str]:
    words = _words(text)
    if params.word_bigrams and len(words) > 1:
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
    return words


def _block_texts(name: str, docs: Sequence[tuple[str, str]], params: Params) -> list[str]:
    if name.startswith("subject_"):
        return [subject for _, subject in docs]
    if name == "word" and params.word_chars is not None:
        return [full[: params.word_chars] for full, _ in docs]
    return [full for full, _ in docs]


@dataclass
class _Block:
    """One TF-IDF feature block, rebuilt from its terms and idf alone."""

    name: str
    terms: list[str]
    idf: NDArray[np.float64]
    table: _KeyTable | None = None
    index: dict[str, int] = field(default_factory=dict)

    @property
    def is_char(self) -> bool:
        return self.name.endswith("char")

    @property
    def on_subject(self) -> bool:
        return self.name.startswith("subject_")

    def ready(self) -> _Block:
        """Lookup structures from the terms (after fitting or loading)."""
        if self.is_char:
            keys = _keys_of_terms(self.terms)
            if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
                raise BadInput("model", f"the {self.name} vocabulary is not in key order")
            self.table = _KeyTable(keys)
        else:
            self.index = {t: i for i, t in enumerate(self.terms)}
        return self

    def counts(self, docs: Sequence[tuple[str, str]], params: Params) -> sp.csr_matrix:
        texts = _block_texts(self.name, docs, params)
        if self.is_char:
            assert self.table is not None
            grams = _char_grams(texts, *params.char_ngrams)
            cols = self.table.find(grams.keys)
            hit = cols >= 0
            return _counts(grams.docs[hit], cols[hit], len(texts), len(self.terms))
        # The vocabulary holds no single characters or spaces: every token of every text is
        # looked up as it comes (in C), the misses dropped at once with numpy.
        split = (lambda t: _word_terms(t, params)) if params.word_bigrams else _tokens
        tokens = [split(text) for text in texts]
        sizes = np.fromiter(map(len, tokens), dtype=np.int64, count=len(texts))
        ids = np.fromiter(
            map(self.index.get, itertools.chain.from_iterable(tokens), itertools.repeat(-1)),
            dtype=np.int64,
            count=int(sizes.sum()),
        )
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), sizes)
        hit = ids >= 0
        return _counts(rows[hit], ids[hit], len(texts), len(self.terms))


def _prune(
    df: NDArray[np.int64], tf: NDArray[np.int64], tie: NDArray[Any], params: Params
) -> NDArray[np.bool_]:
    """Terms kept: document frequency ≥ min_df (1 if nothing would remain), then the
    ``max_features`` most frequent (ties by ``tie``)."""
    keep = df >= params.min_df
    if not keep.any():
        keep = df >= 1
    if params.max_features is not None and int(keep.sum()) > params.max_features:
        idx = np.flatnonzero(keep)
        chosen = idx[np.lexsort((tie[idx], -tf[idx]))[: params.max_features]]
        keep = np.zeros(len(df), dtype=bool)
        keep[chosen] = True
    return keep


def _idf(df: NDArray[np.int64], n_docs: int) -> NDArray[np.float64]:
    # Smoothed as scikit-learn does: as if one extra document held every term once.
    out: NDArray[np.float64] = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    return out


def _fit_block(name: str, docs: Sequence[tuple[str, str]], params: Params) -> _Block | None:
    texts = _block_texts(name, docs, params)
    if name.endswith("char"):
        grams = _char_grams(texts, *params.char_ngrams, where=True)
        if len(grams.keys) == 0:
            return None
        assert grams.starts is not None and grams.sizes is not None
        order = np.lexsort((grams.docs, grams.keys))
        keys, owners = grams.keys[order], grams.docs[order]
        first = np.concatenate(([True], keys[1:] != keys[:-1]))
        new_doc = first | np.concatenate(([True], owners[1:] != owners[:-1]))
        at = np.flatnonzero(first)
        df = np.add.reduceat(new_doc.astype(np.int64), at)
        tf = np.diff(np.append(at, len(keys)))
        unique = keys[at]
        keep = _prune(df, tf, unique, params)
        # Each kept key's text, from its first occurrence; keys are sorted, so is the block.
        seen = order[at[keep]]
        terms = [
            grams.padded[s : s + n]
            for s, n in zip(grams.starts[seen].tolist(), grams.sizes[seen].tolist(), strict=True)
        ]
        return _Block(name, terms, _idf(df[keep], len(texts))).ready()
    tf_count: Counter[str] = Counter()
    df_count: Counter[str] = Counter()
    for text in texts:
        terms_of = _word_terms(text, params)
        tf_count.update(terms_of)
        df_count.update(set(terms_of))
    if not df_count:
        return None
    vocab = sorted(df_count)
    df_arr = np.array([df_count[t] for t in vocab], dtype=np.int64)
    tf_arr = np.array([tf_count[t] for t in vocab], dtype=np.int64)
    keep = _prune(df_arr, tf_arr, np.arange(len(vocab)), params)
    terms = [t for t, k in zip(vocab, keep.tolist(), strict=True) if k]
    return _Block(name, terms, _idf(df_arr[keep], len(texts))).ready()


def _prepare(doc: Doc, max_chars: int | None = None) -> tuple[str, str]:
    """The normalised joined text and the normalised subject ("" for a single text)."""
    if isinstance(doc, str):
        full, subject = normalize(doc), ""
    else:
        fields = [f for f in doc if f]
        subject = normalize(doc[0]) if len(doc) > 1 and doc[0] else ""
        full = normalize("\n".join(fields))
    if max_chars is not None and len(full) > max_chars:
        full = full[:max_chars]
    return full, subject


# -- scores and probabilities ------------------------------------------------------------------


def _softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def _log_softmax(scores: NDArray[np.float64], temperature: float) -> NDArray[np.float64]:
    z = scores * temperature
    z = z - z.max(axis=1, keepdims=True)
    out: NDArray[np.float64] = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


def _best_temperature(scores: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    best, best_loss = 1.0, math.inf
    if len(y) == 0:
        return best
    rows = np.arange(len(y))
    for t in TEMPERATURES:
        p = _softmax(scores, float(t))[rows, y]
        loss = float(-np.log(np.clip(p, 1e-12, None)).mean())
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def _svm(
    x: sp.csr_matrix, y: NDArray[np.int64], n_classes: int, c: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One-vs-rest linear SVM; rows for every class, those absent from ``y`` never win."""
    present = np.unique(y)
    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.full(n_classes, -10.0)
    if len(present) == 1:
        intercept[present[0]] = 10.0
        return coef, intercept
    svm = LinearSVC(C=c, class_weight="balanced", tol=SVM_TOL, max_iter=SVM_MAX_ITER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(x, y)
    w = np.asarray(svm.coef_, dtype=np.float64)
    b = np.asarray(svm.intercept_, dtype=np.float64)
    if len(present) == 2:
        # Binary SVMs keep one row (the positive class); two rows make scores symmetric.
        w = np.vstack([-w[0] / 2, w[0] / 2])
        b = np.array([-b[0] / 2, b[0] / 2])
    coef[present] = w
    intercept[present] = b
    return coef, intercept


def _nbsvm(
    x: sp.csr_matrix, y: NDArray[np.int64], n_classes: int, c: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """NB-SVM (Wang & Manning, 2012), one class against the rest: presence features scaled
    by the class's naive-Bayes log-count ratio ``r``, a linear SVM on them, its weights
    interpolated towards their mean (``NB_BETA``), folded back into one weight per term."""
    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.full(n_classes, -10.0)
    total = np.asarray(x.sum(axis=0)).ravel()
    for k in np.unique(y):
        pos = y == k
        if pos.all():
            intercept[k] = 10.0
            continue
        p = NB_ALPHA + np.asarray(x[pos].sum(axis=0)).ravel()
        q = NB_ALPHA + total - (p - NB_ALPHA)
        r = np.log(p / p.sum()) - np.log(q / q.sum())
        svm = LinearSVC(C=c, class_weight="balanced", tol=SVM_TOL, max_iter=SVM_MAX_ITER)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm.fit(x @ sp.diags(r), pos.astype(np.int64))
        w = np.asarray(svm.coef_, dtype=np.float64).ravel()
        w = (1 - NB_BETA) * np.abs(w).mean() + NB_BETA * w
        coef[k] = r * w
        intercept[k] = float(svm.intercept_[0])
    return coef, intercept


def _stack_weights(scores: Sequence[NDArray[np.float64]], y: NDArray[np.int64]) -> list[float]:
    """Non-negative weights ``a`` of the members' scores minimising the log-loss of
    ``softmax(sum a_m * scores_m)`` (stacking; with one member, a temperature)."""
    if len(y) == 0:
        return [1.0] + [0.0] * (len(scores) - 1)
    rows = np.arange(len(y))

    def loss(a: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = sum((w * s for w, s in zip(a, scores, strict=True)), np.zeros_like(scores[0]))
        logp = _log_softmax(z, 1.0)
        p = np.exp(logp)
        grad = np.array([float(((p * s).sum(axis=1) - s[rows, y]).mean()) for s in scores])
        return float(-logp[rows, y].mean()), grad

    start = np.ones(len(scores))
    result = minimize(
        loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, MAX_WEIGHT)] * len(scores)
    )
    weights = [float(w) for w in result.x]
    return weights if any(w > 0 for w in weights) else [1.0] + [0.0] * (len(scores) - 1)


@dataclass
class _Level:
    """One level of the label paths (the whole label when labels are not paths)."""

    labels: list[str]
    # For each label of the model (a leaf), the index of its ancestor at this level.
    of_leaf: NDArray[np.int64]
    # The weight of each member's scores (SVM, NB-SVM): stacking and temperature in one.
    weights: list[float] = field(default_factory=lambda: [1.0, 0.0])


def _levels(labels: Sequence[str], sep: str | None) -> list[_Level]:
    leaf = _Level(list(labels), np.arange(len(labels), dtype=np.int64))
    if not sep:
        return [leaf]
    parts = [lab.split(sep) for lab in labels]
    depth = max(len(p) for p in parts)
    levels = []
    for d in range(1, depth):
        prefixes = [sep.join(p[:d]) for p in parts]
        names = sorted(set(prefixes))
        # One class teaches nothing; as many classes as leaves is the leaf level again.
        if 1 < len(names) < len(labels):
            of_leaf = np.array([names.index(p) for p in prefixes], dtype=np.int64)
            levels.append(_Level(names, of_leaf))
    return [*levels, leaf]


Split = list[tuple[NDArray[np.int64], NDArray[np.int64]]]


def _inner_split(y: NDArray[np.int64]) -> Split:
    """Three stratified folds of the training data for the stacking weights; fewer for tiny
    data, none when a class has a single example and there are few texts."""
    counts = np.bincount(y)
    folds = 3 if len(y) >= 30 else min(3, int(counts[counts > 0].min()))
    if folds < 2:
        return []
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        # Classes smaller than the number of folds are fine: they are missing from a part.
        warnings.simplefilter("ignore", UserWarning)
        return list(split.split(np.zeros(len(y)), y))


@dataclass
class TextClassifier:
    params: Params = field(default_factory=Params)
    labels: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    # The rows of every level's classes, levels one after another (the leaves last); the
    # SVM's and the NB-SVM's (empty without it).
    coef: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    intercept: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    coef_nb: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    intercept_nb: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    # Of the final softmax over leaves; 1 for plain labels (the weights are the temperature).
    temperature: float = 1.0
    levels: list[_Level] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    # Per block: the weighted coefficients, transposed and contiguous for fast scoring.
    _weights: list[tuple[NDArray[np.float64], NDArray[np.float64] | None]] = field(
        default_factory=list, repr=False
    )
    _bias: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)

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
        self.params.t2s = HAVE_T2S
        clean = [_prepare(t, self.params.max_chars) for t in texts]
        self.params.subject = any(subject for _, subject in clean)
        position = {lab: i for i, lab in enumerate(self.labels)}
        y = np.array([position[lab] for lab in labels], dtype=np.int64)
        say(f"features for {len(clean)} texts")
        if self.params.words is None:
            self.params.words = _wants_words([full for full, _ in clean])
        self.params.words = self.params.words and HAVE_WORDS
        names = ["char", "word"] if self.params.words else ["char"]
        if self.params.subject:
            names += [f"subject_{n}" for n in names]
        self.blocks = [b for b in (_fit_block(n, clean, self.params) for n in names) if b]
        if not self.blocks:
            raise BadInput("texts", "no usable characters in the texts")
        counts = [b.counts(clean, self.params) for b in self.blocks]
        x = sp.csr_matrix(
            sp.hstack([_tfidf(m, b.idf) for m, b in zip(counts, self.blocks, strict=True)])
        )
        xb = sp.csr_matrix(sp.hstack([_presence(m) for m in counts])) if self.params.nb else None
        self.levels = _levels(self.labels, self.params.path_sep)
        split = _inner_split(y) if calibrate else []
        say(
            f"linear models on {x.shape[1]} features, {len(self.labels)} classes"
            + (f", {len(self.levels)} levels" if len(self.levels) > 1 else "")
        )
        fitted = [self._fit_level(lv, x, xb, lv.of_leaf[y], split) for lv in self.levels]
        self.coef = np.vstack([f[0] for f in fitted])
        self.intercept = np.concatenate([f[1] for f in fitted])
        self.coef_nb = np.vstack([f[2] for f in fitted]) if xb is not None else np.zeros((0, 0))
        self.intercept_nb = (
            np.concatenate([f[3] for f in fitted]) if xb is not None else np.zeros(0)
        )
        self.temperature = 1.0
        if len(self.levels) > 1 and split:
            self.temperature = _best_temperature(self._combine([f[4] for f in fitted]), y)
        self._ready()
        self.metadata.update(
            {
                "n": len(clean),
                "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "class_counts": {lab: int((y == i).sum()) for i, lab in enumerate(self.labels)},
                "member_weights": [lv.weights for lv in self.levels],
            }
        )
        return self

    def _fit_level(
        self,
        level: _Level,
        x: sp.csr_matrix,
        xb: sp.csr_matrix | None,
        y: NDArray[np.int64],
        split: Split,
    ) -> tuple[
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.float64],
    ]:
        """The members' out-of-fold scores give their weights; then the final fits."""
        k, c = len(level.labels), self.params.c
        oof = [np.zeros((len(y), k))] + ([np.zeros((len(y), k))] if xb is not None else [])
        seen = np.ones(len(y), dtype=bool)
        for train, test in split:
            coef, intercept = _svm(x[train], y[train], k, c)
            oof[0][test] = np.asarray(x[test] @ coef.T) + intercept
            if xb is not None:
                coef, intercept = _nbsvm(xb[train], y[train], k, c)
                oof[1][test] = np.asarray(xb[test] @ coef.T) + intercept
            # Rows whose class was missing from their training part say nothing here.
            seen[test] = np.isin(y[test], y[train])
        if split:
            weights = _stack_weights([s[seen] for s in oof], y[seen])
        else:
            weights = [1.0] + [0.0] * (len(oof) - 1)
        level.weights = weights + [0.0] * (2 - len(weights))
        coef, intercept = _svm(x, y, k, c)
        coef_nb, intercept_nb = _nbsvm(xb, y, k, c) if xb is not None else (coef[:0], intercept[:0])
        combined = sum((w * s for w, s in zip(weights, oof, strict=False)), np.zeros((len(y), k)))
        return coef, intercept, coef_nb, intercept_nb, combined

    def _combine(self, scores: Sequence[NDArray[np.float64]]) -> NDArray[np.float64]:
        """Leaf scores from each level's weighted scores: as they are for plain labels, the
        sum of the path's log-probabilities when labels are paths."""
        if len(self.levels) == 1:
            return scores[0]
        total = np.zeros((len(scores[0]), len(self.labels)))
        for level, s in zip(self.levels, scores, strict=True):
            total += _log_softmax(s, 1.0)[:, level.of_leaf]
        return total

    def _ready(self) -> None:
        """The members' coefficients weighted per level, split per block, for scoring."""
        w_svm = np.concatenate([np.full(len(lv.labels), lv.weights[0]) for lv in self.levels])
        w_nb = np.concatenate([np.full(len(lv.labels), lv.weights[1]) for lv in self.levels])
        has_nb = self.coef_nb.size > 0
        self._bias = w_svm * self.intercept + (w_nb * self.intercept_nb if has_nb else 0.0)
        self._weights = []
        start = 0
        for b in self.blocks:
            end = start + len(b.terms)
            svm_part = np.ascontiguousarray((self.coef[:, start:end] * w_svm[:, None]).T)
            nb_part = (
                np.ascontiguousarray((self.coef_nb[:, start:end] * w_nb[:, None]).T)
                if has_nb
                else None
            )
            self._weights.append((svm_part, nb_part))
            start = end

    # -- prediction ------------------------------------------------------------------------

    def decision(self, texts: Sequence[Doc]) -> NDArray[np.float64]:
        """One score per text and label: higher is likelier (see ``_combine``)."""
        if not self.labels:
            raise BadInput("model", "not trained")
        clean = [_prepare(t, self.params.max_chars) for t in texts]
        raw = np.tile(self._bias, (len(clean), 1))
        for b, (w_svm, w_nb) in zip(self.blocks, self._weights, strict=True):
            counts = b.counts(clean, self.params)
            raw += np.asarray(_tfidf(counts, b.idf) @ w_svm)
            if w_nb is not None:
                raw += np.asarray(_presence(counts) @ w_nb)
        parts, start = [], 0
        for level in self.levels:
            parts.append(raw[:, start : start + len(level.labels)])
            start += len(level.labels)
        return self._combine(parts)

    def predict_proba(self, texts: Sequence[Doc]) -> NDArray[np.float64]:
        return _softmax(self.decision(texts), self.temperature)

    def predict(self, texts: Sequence[Doc]) -> list[str]:
        return [self.labels[i] for i in self.decision(texts).argmax(axis=1)]

    def predict_top(self, texts: Sequence[Doc], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest labels of each text with their probabilities, best first.
        With path labels these are whole paths (leaves), each scored with its parents."""
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
            "levels": [{"labels": lv.labels, "weights": lv.weights} for lv in self.levels],
            "blocks": [{"name": b.name, "terms": b.terms} for b in self.blocks],
            "metadata": self.metadata,
        }
        (directory / MODEL_FILE).write_text(
            json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        arrays: dict[str, Any] = {f"idf_{b.name}": b.idf for b in self.blocks}
        arrays.update(coef=self.coef, intercept=self.intercept)
        if self.coef_nb.size:
            arrays.update(coef_nb=self.coef_nb, intercept_nb=self.intercept_nb)
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
            tag = doc.get("format") if isinstance(doc, dict) else None
            if tag in _OLD_FORMATS:
                raise BadInput(
                    "model",
                    f"{directory}: a {tag} model from an earlier version of Jiesu; this version"
                    f" reads {FORMAT} only: train it again (jiesu nlp train)",
                )
            if tag != FORMAT:
                raise BadInput("model", f"{directory}: not a {FORMAT} model")
            try:
                params = Params.from_dict(doc["params"])
                # Arrays are read lazily: a missing name or an object array fails here.
                blocks = [
                    _Block(
                        str(b["name"]),
                        [str(t) for t in b["terms"]],
                        np.asarray(arrays[f"idf_{b['name']}"], dtype=np.float64),
                    )
                    for b in doc["blocks"]
                ]
                coef = np.asarray(arrays["coef"], dtype=np.float64)
                intercept = np.asarray(arrays["intercept"], dtype=np.float64)
                coef_nb = np.zeros((0, 0))
                intercept_nb = np.zeros(0)
                if params.nb:
                    coef_nb = np.asarray(arrays["coef_nb"], dtype=np.float64)
                    intercept_nb = np.asarray(arrays["intercept_nb"], dtype=np.float64)
                labels = [str(lab) for lab in doc["labels"]]
                temperature = float(doc["temperature"])
                saved_levels = [
                    ([str(lab) for lab in lv["labels"]], [float(w) for w in lv["weights"]])
                    for lv in doc["levels"]
                ]
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise BadInput("model", f"{directory}: unreadable model ({exc})") from exc
        if params.words and not HAVE_WORDS:
            raise BadInput("model", "this model uses words; install rjieba")
        if params.t2s and not HAVE_T2S:
            raise BadInput("model", "this model reads traditional characters; install opencc")
        levels = _levels(labels, params.path_sep)
        if [lv.labels for lv in levels] != [names for names, _ in saved_levels] or any(
            len(weights) != 2 for _, weights in saved_levels
        ):
            raise BadInput("model", f"{directory}: the label levels do not match the labels")
        for level, (_, weights) in zip(levels, saved_levels, strict=True):
            level.weights = weights
        n_rows = sum(len(lv.labels) for lv in levels)
        n_features = sum(len(b.terms) for b in blocks)
        if (
            coef.shape != (n_rows, n_features)
            or intercept.shape != (n_rows,)
            or (params.nb and (coef_nb.shape != coef.shape or intercept_nb.shape != (n_rows,)))
            or any(b.idf.shape != (len(b.terms),) for b in blocks)
        ):
            raise BadInput("model", f"{directory}: arrays do not match the vocabulary")
        model = cls(
            params=params,
            labels=labels,
            blocks=[b.ready() for b in blocks],
            coef=coef,
            intercept=intercept,
            coef_nb=coef_nb,
            intercept_nb=intercept_nb,
            temperature=temperature,
            levels=levels,
            metadata=dict(doc.get("metadata", {})),
        )
        model._ready()
        return model
