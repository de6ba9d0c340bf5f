"""`jiesu kb`: import and list articles, search, expiring articles, synonyms, the
questions without a good answer, and the search's measured quality and speed."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import func, select

from jiesu.city.service import city_context
from jiesu.clikit import console, fail, settings, unit_of_work
from jiesu.errors import JiesuError
from jiesu.kb import synonyms as synonym_store
from jiesu.kb.consult import articles_used, consultation_counts, gaps
from jiesu.kb.importer import import_files
from jiesu.kb.models import KbArticle
from jiesu.kb.search import search_articles
from jiesu.kb.service import EXPIRING_DAYS, expiring, list_articles
from jiesu.kit.clock import utcnow
from jiesu.people.service import Actor
from jiesu.workflow.models import ServiceRequest

app = typer.Typer(help="Knowledge base (政策知识库): articles, search, synonyms, quality.")
synonyms_app = typer.Typer(help="The synonym groups the search uses (one group a line).")
app.add_typer(synonyms_app, name="synonyms")
# Commands are run by whoever administers the installation.
CLI_ACTOR = Actor(None, "kb-cli", "admin")


def _print(rows: list[dict[str, object]], columns: list[str], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False, default=str))
        return
    table = Table(*columns)
    for r in rows:
        table.add_row(*(str(r.get(c, "") if r.get(c) is not None else "") for c in columns))
    console.print(table)


@app.command("import")
def import_cmd(
    paths: list[Path] = typer.Argument(..., help="Markdown, HTML or text files, or folders"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Import articles; each file is reported on its own, a bad one does not stop the rest."""
    now = utcnow()
    with unit_of_work() as session:
        today = now.astimezone(city_context(session).tz).date()
        results = import_files(session, paths, actor=CLI_ACTOR, now=now, today=today)
    rows: list[dict[str, object]] = [
        {
            "file": r.path,
            "outcome": r.outcome,
            "article": r.article_id,
            "version": r.version,
            "problem": r.problem,
        }
        for r in results
    ]
    _print(rows, ["file", "outcome", "article", "version", "problem"], as_json)
    if not results:
        fail("no Markdown, HTML or text files found in what was given")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)


@app.command("list")
def list_cmd(
    status: str | None = typer.Option(None, "--status", help="draft | published | expired"),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Articles, the latest changed first."""
    if status is not None and status not in ("draft", "published", "expired"):
        fail("--status must be draft, published or expired")
    with unit_of_work() as session:
        rows: list[dict[str, object]] = [
            {
                "id": a.id,
                "title": a.title,
                "status": a.status,
                "version": a.version,
                "unit": a.owner_unit.code if a.owner_unit else None,
                "valid_until": a.valid_until.isoformat() if a.valid_until else None,
            }
            for a in list_articles(session, status=status, limit=limit)
        ]
    _print(rows, ["id", "title", "status", "version", "unit", "valid_until"], as_json)


@app.command("expiring")
def expiring_cmd(
    days: int = typer.Option(EXPIRING_DAYS, "--days", min=0, max=3650),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Articles that have run out or run out within --days, by owner unit: who to remind."""
    with unit_of_work() as session:
        today = utcnow().astimezone(city_context(session).tz).date()
        rows: list[dict[str, object]] = [
            {
                "unit": e.unit,
                "unit_name": e.unit_name,
                "article": e.article_id,
                "title": e.title,
                "valid_until": e.valid_until.isoformat(),
                "days_left": e.days_left,
            }
            for e in expiring(session, today, days=days)
        ]
    _print(rows, ["unit", "unit_name", "article", "title", "valid_until", "days_left"], as_json)


@app.command("search")
def search_cmd(
    question: str = typer.Argument(..., help="the question, as a caller would ask it"),
    limit: int = typer.Option(5, "--limit", min=1, max=50),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """The articles in force that best answer a question (BM25, words and bigrams)."""
    with unit_of_work() as session:
        today = utcnow().astimezone(city_context(session).tz).date()
        rows: list[dict[str, object]] = [
            {
                "id": h.article.id,
                "score": round(h.score, 2),
                "title": h.article.title,
                "unit": h.article.owner_unit_name,
                "snippet": h.snippet,
            }
            for h in search_articles(session, question, today=today, limit=limit)
        ]
    _print(rows, ["id", "score", "title", "unit", "snippet"], as_json)


@app.command("gaps")
def gaps_cmd(
    days: int = typer.Option(90, "--days", min=1, max=3650),
    min_count: int = typer.Option(2, "--min-count", min=1),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Questions asked again and again that no article answers well."""
    with unit_of_work() as session:
        rows: list[dict[str, object]] = [
            {
                "count": g.count,
                "no_answer": g.no_answer,
                "best_match": round(g.best_match, 2) if g.best_match is not None else None,
                "last": g.last_at.isoformat(timespec="minutes"),
                "question": g.question[:120],
            }
            for g in gaps(session, now=utcnow(), days=days, min_count=min_count)
        ]
    _print(rows, ["count", "no_answer", "best_match", "last", "question"], as_json)


@app.command("consultations")
def consultations_cmd(
    days: int = typer.Option(30, "--days", min=1, max=3650),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Consultations answered directly and not answered, beside the work orders received in
    the same days, and the articles used most."""
    since = utcnow() - timedelta(days=days)
    with unit_of_work() as session:
        counts = consultation_counts(session, since)
        orders = session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(ServiceRequest.received_at >= since, ServiceRequest.status != "answered")
        )
        used = [
            {"article": a, "title": getattr(session.get(KbArticle, a), "title", ""), "times": n}
            for a, n in articles_used(session, since).most_common(10)
        ]
    out = {
        "days": days,
        "answered_directly": counts.get("answered", 0),
        "no_answer_found": counts.get("no_answer", 0),
        "work_orders": orders or 0,
        "articles_used": used,
    }
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    console.print(
        f"last {days} days: {out['answered_directly']} answered directly, "
        f"{out['no_answer_found']} without an answer, {out['work_orders']} work orders"
    )
    _print(used, ["article", "title", "times"], False)


@synonyms_app.command("show")
def synonyms_show() -> None:
    """Print the groups in use, in the file format."""
    with unit_of_work() as session:
        text = synonym_store.render(synonym_store.current(session))
    typer.echo(text, nl=False)


@synonyms_app.command("load")
def synonyms_load(file: Path = typer.Argument(..., exists=True, dir_okay=False)) -> None:
    """Replace the groups with those of a file (one group a line; # comments)."""
    try:
        groups = synonym_store.parse(file.read_text("utf-8"), field=str(file))
    except (JiesuError, UnicodeDecodeError) as exc:
        fail(getattr(exc, "message", str(exc)))
    with unit_of_work() as session:
        n = synonym_store.replace(session, groups, actor=CLI_ACTOR.name, now=utcnow())
    console.print(f"{n} synonym groups saved")


@synonyms_app.command("add")
def synonyms_add(
    group: str = typer.Argument(..., help="words that mean the same: '暖气,供暖'"),
) -> None:
    """Add one group to those in use."""
    try:
        new = synonym_store.parse(group, field="group")
    except JiesuError as exc:
        fail(exc.message)
    with unit_of_work() as session:
        groups = synonym_store.current(session) + new
        n = synonym_store.replace(session, groups, actor=CLI_ACTOR.name, now=utcnow())
    console.print(f"{n} synonym groups saved")


@app.command("eval")
def eval_cmd(
    data: Path = typer.Option(
        ..., "--data", exists=True, dir_okay=False, help="messages_replies_2816.csv"
    ),
    own_size: int = typer.Option(200, "--own-size", min=1, help="questions in the 'own' set"),
    seed: int = typer.Option(12, "--seed"),
    labels_out: Path | None = typer.Option(
        None, "--labels-out", help="write the labelled set as message ids (no texts)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """recall@k and MRR on labelled real questions built from the shared reply file."""
    from jiesu.kb.evaluate import own_set, read_messages, repeat_set, run

    settings()
    try:
        reports = run(data, own_size=own_size, seed=seed)
    except (ValueError, KeyError) as exc:
        fail(str(exc))
    if labels_out is not None:
        messages = read_messages(data)
        labelled = {
            "repeat": repeat_set(messages),
            "own": own_set(messages, own_size, seed),
        }
        labels_out.write_text(
            json.dumps(
                {
                    name: [{"question": i.question_id, "relevant": sorted(i.relevant)} for i in s]
                    for name, s in labelled.items()
                },
                ensure_ascii=False,
                indent=1,
            ),
            "utf-8",
        )
    _print(
        [r.as_dict() for r in reports],
        ["set", "questions", "articles", "recall@1", "recall@5", "recall@10", "mrr",
         "ms_per_query"],
        as_json,
    )  # fmt: skip


@app.command("bench")
def bench_cmd(
    articles: int = typer.Option(10_000, "--articles", min=10, max=200_000),
    queries: int = typer.Option(200, "--queries", min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Milliseconds per query over a synthetic knowledge base of --articles articles."""
    from jiesu.kb.bench import bench

    settings()
    result = bench(articles=articles, queries=queries)
    if as_json:
        console.print_json(json.dumps(result))
        return
    for k, v in result.items():
        console.print(f"{k}: {v}")
