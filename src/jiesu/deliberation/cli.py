"""`jiesu consult`: open, list, end, close (decide), follow up and read the results of
consultations (议事) from the command line; `outbox` shows the codes waiting for a gateway."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiesu.clikit import console, fail, unit_of_work
from jiesu.deliberation import followup, service
from jiesu.deliberation.sender import outbox
from jiesu.deliberation.views import summary, view
from jiesu.kit.clock import utcnow
from jiesu.people.models import User
from jiesu.people.service import Actor

app = typer.Typer(help="Deliberation (议事): consultations, their decisions and follow-up.")
BY = typer.Option("supervisor", "--by", help="username of the supervisor (or admin) acting")


def _actor(session: Session, username: str) -> Actor:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        fail(f"--by: no active account {username!r}")
    return Actor.of(user)


def _survey(text: str) -> tuple[str, list[str]]:
    question, *options = text.split("|")
    return question, options


@app.command("open")
def open_cmd(
    title: str = typer.Option(..., "--title"),
    question: str = typer.Option(..., "--question"),
    option: list[str] = typer.Option([], "--option", help="an option (repeat; a poll needs 2+)"),
    kind: str = typer.Option("poll", "--kind", help="poll | proposals | survey"),
    survey_question: list[str] = typer.Option(
        [], "--survey-question", help='a survey question: "question|option|option…" (repeat)'
    ),
    subject: str = typer.Option(
        "community", "--subject", help="hot_issue | monthly_topic | early_warning | community"
    ),
    ref: str = typer.Option("", "--ref", help="topic id, warning id, or a hot issue's ticket"),
    area: str = typer.Option(None, "--area", help="area code (default: the subject's or city)"),
    category: str = typer.Option(None, "--category", help="category code"),
    method: list[str] = typer.Option(
        ["phone", "ticket", "account"], "--method", help="how people verify (repeat)"
    ),
    days: int = typer.Option(14, "--days", help="days it stays open"),
    by: str = BY,
) -> None:
    """Open a consultation; its background is computed from the requests now."""
    with unit_of_work() as session:
        o = service.Opening(title=title, question=question, kind=kind, subject=subject,
                            subject_ref=ref, area=area, category=category, options=option,
                            methods=method, days=days,
                            questions=[_survey(q) for q in survey_question])  # fmt: skip
        c = service.open_consultation(session, o, actor=_actor(session, by), now=utcnow())
        bg = c.background
        console.print(
            f"opened consultation {c.id} in {c.area.name} until {c.closes_at:%Y-%m-%d %H:%M} UTC; "
            f"background: {bg['requests']} request(s) in {len(bg['per_week'])} weeks"
        )


@app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Consultations, newest first, with their phase and votes."""
    now = utcnow()
    with unit_of_work() as session:
        rows = [summary(session, c, now) for c in service.list_consultations(session)]
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("id", "title", "kind", "area", "phase", "closes", "votes")
    for r in rows:
        table.add_row(str(r.id), r.title, r.kind, r.area.name, r.phase,
                      f"{r.closes_at:%Y-%m-%d %H:%M}", str(r.votes))  # fmt: skip
    console.print(table)


@app.command("end")
def end_cmd(consultation: int = typer.Argument(...), by: str = BY) -> None:
    """Stop taking part now, before the planned end."""
    with unit_of_work() as session:
        c = service.managed(session, consultation, _actor(session, by))
        service.end_voting(session, c, actor=_actor(session, by), now=utcnow())
        console.print(f"consultation {c.id} ended; decide it with `jiesu consult close`")


@app.command("close")
def close_cmd(
    consultation: int = typer.Argument(...),
    decision: str = typer.Option(..., "--decision", help="what was decided"),
    reasons: str = typer.Option(..., "--reasons", help="why"),
    option: int = typer.Option(None, "--option", help="the option id chosen"),
    end: bool = typer.Option(False, "--end", help="end it now first if it is still open"),
    work_order: list[str] = typer.Option(
        [], "--work-order", help="text of a proactive work order to open from it (repeat)"
    ),
    link: list[str] = typer.Option([], "--link", help="ticket of a request carrying it (repeat)"),
    by: str = BY,
) -> None:
    """Record the closing decision, then open or link the work orders that carry it out."""
    now = utcnow()
    with unit_of_work() as session:
        actor = _actor(session, by)
        c = service.managed(session, consultation, actor)
        if end and service.phase(c, now) == "open":
            service.end_voting(session, c, actor=actor, now=now)
        service.decide(session, c, actor=actor, now=now, decision=decision, reasons=reasons,
                       option_id=option)  # fmt: skip
        for text in work_order:
            followup.create_work_order(session, c, text=text, actor=actor, now=now)
        for ticket in link:
            followup.link_request(session, c, ticket=ticket, actor=actor, now=now)
        tickets = [w.request.ticket for w in followup.work_orders(session, c)]
        console.print(
            f"consultation {c.id} decided; work orders: {', '.join(tickets) or 'none yet'}"
        )


@app.command("results")
def results_cmd(
    consultation: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Votes per option and turnout, the decision and its work orders' progress."""
    now = utcnow()
    with unit_of_work() as session:
        v = view(session, service.get_consultation(session, consultation), now, public=False)
    if as_json:
        console.print_json(v.model_dump_json())
        return
    console.print(f"[bold]{v.title}[/] — {v.area.name} — {v.phase} — {v.results.votes} vote(s)")
    table = Table("option", "question", "label", "votes", "share")
    for o in v.results.options:
        label = o.label if o.label is not None else f"hidden: {o.hidden_reason}"
        share = f"{o.share:.1%}" if o.share is not None else "—"
        asked = v.questions[o.question] if v.questions else ""
        table.add_row(str(o.option_id), asked, label, str(o.votes), share)
    console.print(table)
    if v.decision:
        console.print(f"decision: {v.decision.text} (option {v.decision.option_id}); "
                      f"reasons: {v.decision.reasons}")  # fmt: skip
    for w in v.follow_up.work_orders:
        console.print(f"  {w.ticket}  {w.stage}  ({w.status})  {w.unit or ''}")


@app.command("outbox")
def outbox_cmd(limit: int = typer.Option(10, "--limit", min=1, max=200)) -> None:
    """Text messages waiting for an SMS gateway (verification codes), newest first."""
    with unit_of_work() as session:
        for m in outbox(session, limit=limit):
            console.print(f"{m.created_at:%Y-%m-%d %H:%M:%S}  {m.recipient}  {m.body}")
