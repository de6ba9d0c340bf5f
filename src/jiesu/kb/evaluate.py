"""Measuring the search: recall@k and MRR on a labelled set of real questions.

The set is built at run time from the shared file of citizen messages with the government's
published replies (``messages_replies_2816.csv``): its texts are never copied into the
repository. Two parts, reported apart because they answer different questions:

* ``repeat`` — the same matter asked again. Messages whose subject (留言主题, compared
  without spaces and punctuation) repeats another message's are the questions; the
  knowledge base is every *other* message's reply, and the right answers are the replies to
  the other messages with that subject. The question's own reply is left out of the base, so
  the search must find an answer written for someone else. The label is the subject the
  board's own staff gave both messages.
* ``own`` — known-item: a message's text (its first 200 characters: what an operator types)
  against all replies; the right answer is the reply published to that message. Replies
  restate the matter, so this is easier; it says whether the words line up at all.

Questions are the 留言详情 text, never the subject, so the label (from the subject) and the
query are different fields.
"""

from __future__ import annotations

import csv
import random
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jiesu.kb.search import ArticleIndex, IndexedArticle
from jiesu.kb.synonyms import builtin
from jiesu.kb.tokens import Synonyms, bigrams, normalise

QUESTION_CHARS = 200
_PUNCT = re.compile(r"[\s\W_]+")


def subject_key(subject: str) -> str:
    return _PUNCT.sub("", subject)


@dataclass(frozen=True)
class Message:
    id: str
    subject: str
    text: str
    reply: str


@dataclass(frozen=True)
class Labelled:
    question_id: str
    question: str
    relevant: frozenset[str]  # message ids whose reply answers it
    excluded: str | None  # the question's own reply, left out of the base


@dataclass
class Report:
    name: str
    questions: int
    articles: int
    recall_at: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    ms_per_query: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "set": self.name,
            "questions": self.questions,
            "articles": self.articles,
            **{f"recall@{k}": round(v, 4) for k, v in self.recall_at.items()},
            "mrr": round(self.mrr, 4),
            "ms_per_query": round(self.ms_per_query, 3),
        }


def read_messages(path: Path) -> list[Message]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"留言编号", "留言主题", "留言详情", "答复意见"}
    if rows and not need <= set(rows[0]):
        missing = ", ".join(sorted(need - set(rows[0])))
        raise ValueError(f"{path}: columns missing: {missing}")
    return [
        Message(r["留言编号"], r["留言主题"].strip(), r["留言详情"].strip(), r["答复意见"].strip())
        for r in rows
        if r["答复意见"].strip() and r["留言详情"].strip()
    ]


def repeat_set(messages: Sequence[Message]) -> list[Labelled]:
    by_subject: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_subject[subject_key(m.subject)].append(m)
    out = []
    for group in by_subject.values():
        if len(group) < 2:
            continue
        for m in group:
            others = frozenset(o.id for o in group if o.id != m.id)
            out.append(Labelled(m.id, m.text[:QUESTION_CHARS], others, m.id))
    return out


def own_set(messages: Sequence[Message], size: int, seed: int) -> list[Labelled]:
    picked = random.Random(seed).sample(list(messages), min(size, len(messages)))
    return [Labelled(m.id, m.text[:QUESTION_CHARS], frozenset({m.id}), None) for m in picked]


def _index(messages: Sequence[Message], synonyms: Synonyms) -> tuple[ArticleIndex, list[str]]:
    today = date.today()
    articles = [
        IndexedArticle(i, m.subject, m.reply, None, today, None, None, (), ())
        for i, m in enumerate(messages)
    ]
    return ArticleIndex(articles, synonyms), [m.id for m in messages]


def evaluate(
    name: str,
    labelled: Sequence[Labelled],
    messages: Sequence[Message],
    *,
    ks: Sequence[int] = (1, 5, 10),
    synonyms: Synonyms | None = None,
    kinds: str = "wbs",
    index: tuple[ArticleIndex, list[str]] | None = None,
) -> Report:
    index_, ids = index or _index(messages, synonyms or Synonyms(builtin()))
    position = {mid: i for i, mid in enumerate(ids)}
    depth = max(ks)
    hits_at = dict.fromkeys(ks, 0)
    rr = 0.0
    today = date.today()
    started = time.perf_counter()
    for item in labelled:
        # One extra result, in case the question's own reply (left out) comes first.
        found = index_.search(item.question, today=today, limit=depth + 1, kinds=kinds)
        ranked = [ids[h.article.id] for h in found if ids[h.article.id] != item.excluded][:depth]
        first = next((r for r, mid in enumerate(ranked, 1) if mid in item.relevant), None)
        if first is not None:
            rr += 1 / first
            for k in ks:
                hits_at[k] += first <= k
    elapsed = time.perf_counter() - started
    n = len(labelled) or 1
    assert all(mid in position for item in labelled for mid in item.relevant)
    return Report(
        name=name,
        questions=len(labelled),
        articles=len(messages) - (1 if any(i.excluded for i in labelled) else 0),
        recall_at={k: hits_at[k] / n for k in ks},
        mrr=rr / n,
        ms_per_query=1000 * elapsed / n,
    )


def reworded(labelled: Sequence[Labelled], messages: Sequence[Message]) -> list[Labelled]:
    """The repeats whose text is not a near copy of the other message's (most repeats are the
    same person posting the same text again): under 60 % of their bigrams shared."""
    text = {m.id: set(bigrams(normalise(m.text))) for m in messages}

    def share(a: str, b: str) -> float:
        return len(text[a] & text[b]) / max(1, len(text[a] | text[b]))

    return [i for i in labelled if max(share(i.question_id, r) for r in i.relevant) < 0.6]


def run(path: Path, *, own_size: int = 200, seed: int = 12) -> list[Report]:
    """Every set with the full search, then the repeat set with words only and bigrams only
    (the same index, the query restricted) to show what each kind of term brings."""
    messages = read_messages(path)
    index = _index(messages, Synonyms(builtin()))
    repeats = repeat_set(messages)
    return [
        evaluate("repeat", repeats, messages, index=index),
        evaluate("repeat, reworded", reworded(repeats, messages), messages, index=index),
        evaluate("own", own_set(messages, own_size, seed), messages, index=index),
        evaluate("repeat, words only", repeats, messages, index=index, kinds="w"),
        evaluate("repeat, bigrams only", repeats, messages, index=index, kinds="b"),
        evaluate("own, words only", own_set(messages, own_size, seed), messages, index=index,
                 kinds="w"),
        evaluate("own, bigrams only", own_set(messages, own_size, seed), messages, index=index,
                 kinds="b"),
    ]  # fmt: skip
