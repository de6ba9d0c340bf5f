"""`jiesu kb bench`: how fast the search answers over a large synthetic knowledge base.

Articles are composed by the demo's text generator (a request and two replies of one of a
dozen categories, 300–600 characters, about the size of a policy answer); the questions are
other composed requests. Index building and querying are timed apart.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import date

from jiesu.demo.texts import CategoryRef, PlaceRef, compose_reply, compose_request
from jiesu.kb.search import ArticleIndex, IndexedArticle
from jiesu.kb.synonyms import builtin
from jiesu.kb.tokens import Synonyms

CATEGORIES = [
    CategoryRef("0101", ("城乡建设", "供暖", "暖气不热"), ("暖气", "供暖")),
    CategoryRef("0102", ("城乡建设", "供水", "停水"), ("停水", "自来水")),
    CategoryRef("0103", ("交通运输", "停车管理", "停车收费"), ("停车", "车位")),
    CategoryRef("0104", ("城乡建设", "物业管理", "物业服务"), ("物业",)),
    CategoryRef("0105", ("环境保护", "噪音污染", "施工噪音"), ("噪音", "施工")),
    CategoryRef("0106", ("城乡建设", "市容环卫", "垃圾清运"), ("垃圾",)),
    CategoryRef("0107", ("劳动和社会保障", "社会保险", "社保缴纳"), ("社保",)),
    CategoryRef("0108", ("城乡建设", "燃气", "燃气安全"), ("燃气",)),
    CategoryRef("0109", ("卫生计生", "医疗保险", "医保报销"), ("医保",)),
    CategoryRef("0110", ("教育文体", "学前教育", "幼儿园入园"), ("幼儿园",)),
    CategoryRef("0111", ("城乡建设", "道路设施", "路灯不亮"), ("路灯",)),
    CategoryRef("0112", ("公安司法", "户籍管理", "落户"), ("户口",)),
]
PLACES = [
    PlaceRef("朝阳区", "望京街道", "望京西园社区"),
    PlaceRef("海淀区", "中关村街道", None),
    PlaceRef("东城区", "东华门街道", "南池子社区"),
    PlaceRef("丰台区", None, None),
]


def synthetic_articles(n: int, seed: int = 1) -> list[IndexedArticle]:
    rng = random.Random(seed)
    today = date.today()
    out = []
    for i in range(n):
        cat, place = rng.choice(CATEGORIES), rng.choice(PLACES)
        req = compose_request(rng, cat, place)
        body = "\n".join(
            [req.text, compose_reply(rng, cat, solved=True), compose_reply(rng, cat, solved=False)]
        )
        out.append(IndexedArticle(i, req.title, body, None, today, None, None, (), ()))
    return out


def bench(*, articles: int, queries: int, seed: int = 1) -> dict[str, float]:
    docs = synthetic_articles(articles, seed)
    started = time.perf_counter()
    index = ArticleIndex(docs, Synonyms(builtin()))
    built = time.perf_counter() - started
    rng = random.Random(seed + 1)
    questions = [
        compose_request(rng, rng.choice(CATEGORIES), rng.choice(PLACES)).text
        for _ in range(queries)
    ]
    today = date.today()
    times = []
    for q in questions:
        t = time.perf_counter()
        index.search(q, today=today, limit=5)
        times.append(1000 * (time.perf_counter() - t))
    times.sort()
    return {
        "articles": articles,
        "queries": queries,
        "index_build_s": round(built, 2),
        "ms_per_query_mean": round(statistics.fmean(times), 2),
        "ms_per_query_p50": round(times[len(times) // 2], 2),
        "ms_per_query_p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2),
        "mean_question_chars": round(statistics.fmean(len(q) for q in questions)),
    }
