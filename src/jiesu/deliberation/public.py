"""Routes under /api/v1/public/consultations: anyone reads a consultation — background,
options, comments, results, the decision and its work orders' progress — and a verified
participant takes part. Verification gives a pass (participants.py) that the writes carry."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session

from jiesu.deliberation import participants, voting
from jiesu.deliberation.participants import Participant
from jiesu.deliberation.schemas import (
    CodeIn,
    CodeSent,
    CommentIn,
    CommentOut,
    ConsultationOut,
    ConsultationSummary,
    OptionOut,
    PassIn,
    PassOut,
    ProposalIn,
    ResultsOut,
    VoteIn,
)
from jiesu.deliberation.sender import CodeSender, OutboxSender, check_address
from jiesu.deliberation.service import get_consultation, list_consultations
from jiesu.deliberation.views import pseudonym, summary, view
from jiesu.deps import DB, ClockDep, CurrentActor, write
from jiesu.errors import BadInput, error_responses
from jiesu.intake.open311.limits import RateLimiter

Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
router = APIRouter(prefix="/public/consultations", tags=["deliberation"])
ERRORS = error_responses(
    {
        403: "not in the consultation's scope; names the field",
        404: "no such consultation",
        409: "not open now, or voted already; names the field",
        422: "a field is wrong (or a code or pass is not valid); names the field",
    }
)


def code_sender(request: Request) -> CodeSender:
    """The installation's sender; the outbox until an SMS gateway is configured."""
    return getattr(request.app.state, "code_sender", None) or OutboxSender()


def limit_codes(request: Request) -> None:
    """Refuse (429) an address that asks for too many codes (JIESU_CONSULT_CODES_PER_MINUTE)."""
    state = request.app.state
    if getattr(state, "consult_code_limits", None) is None:
        state.consult_code_limits = RateLimiter()
    address = request.client.host if request.client else "unknown"
    check_address(state.consult_code_limits, address, state.settings.consult_codes_per_minute)


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key)


def participant(request: Request, token: str, cid: int, now: datetime) -> Participant:
    return participants.read_pass(token, consultation_id=cid, secret=_secret(request), now=now)


@router.get("", response_model=list[ConsultationSummary])
async def list_public(db: DB, clock: ClockDep) -> list[ConsultationSummary]:
    """Every consultation, newest first."""
    now = clock.now()
    return await db.run_sync(lambda s: [summary(s, c, now) for c in list_consultations(s)])


@router.get("/{consultation_id}", response_model=ConsultationOut, responses=ERRORS)
async def read(consultation_id: Id, db: DB, clock: ClockDep) -> ConsultationOut:
    now = clock.now()
    return await db.run_sync(
        lambda s: view(s, get_consultation(s, consultation_id), now, public=True)
    )


@router.post(
    "/{consultation_id}/codes",
    status_code=202,
    response_model=CodeSent,
    responses={**ERRORS, **error_responses({429: "too many codes from this address"})},
)
async def send_code(
    consultation_id: Id, body: CodeIn, request: Request, db: DB, clock: ClockDep
) -> CodeSent:
    """Send a one-time code to the phone you call from."""
    limit_codes(request)
    now, sender, secret = clock.now(), code_sender(request), _secret(request)

    def work(s: Session) -> CodeSent:
        c = get_consultation(s, consultation_id)
        expires = participants.send_code(
            s, c, phone=body.phone, sender=sender, secret=secret, now=now
        )
        return CodeSent(expires_at=expires)

    return await write(db, work)


def _pass_out(s: Session, p: Participant, secret: str, now: datetime) -> PassOut:
    c = get_consultation(s, p.consultation_id)
    token = participants.issue_pass(p, secret=secret, now=now)
    return PassOut(
        pass_=token,
        expires_at=now + participants.PASS_TTL,
        voted=voting.has_voted(s, c, p),
    )


@router.post("/{consultation_id}/passes", status_code=201, response_model=PassOut, responses=ERRORS)
async def verify(
    consultation_id: Id, body: PassIn, request: Request, db: DB, clock: ClockDep
) -> PassOut:
    """Prove who you are: the phone and the code sent to it, or a ticket and the code of its
    private tracking link."""
    now, secret = clock.now(), _secret(request)
    if body.method == "phone" and not body.phone:
        raise BadInput("phone", "give the phone the code was sent to")
    if body.method == "ticket" and not body.ticket:
        raise BadInput("ticket", "give the ticket of your request")

    def work(s: Session) -> PassOut | str:
        c = get_consultation(s, consultation_id)
        if body.method == "ticket":
            p: Participant | str = participants.by_ticket(
                s, c, ticket=body.ticket or "", code=body.code, secret=secret
            )
        else:
            p = participants.confirm_code(
                s, c, phone=body.phone or "", code=body.code, secret=secret, now=now
            )
        return p if isinstance(p, str) else _pass_out(s, p, secret, now)

    out = await write(db, work)  # a wrong code is counted (committed) before it is refused
    if isinstance(out, str):
        raise BadInput("code", out)
    return out


@router.post(
    "/{consultation_id}/passes/account",
    status_code=201,
    response_model=PassOut,
    responses={401: {"description": "not signed in"}, **ERRORS},
)
async def verify_account(
    consultation_id: Id, request: Request, db: DB, actor: CurrentActor, clock: ClockDep
) -> PassOut:
    """Take part as the signed-in citizen."""
    now, secret = clock.now(), _secret(request)

    def work(s: Session) -> PassOut:
        c = get_consultation(s, consultation_id)
        p = participants.by_account(
            s, c, user_id=actor.user_id or 0, role=actor.role, secret=secret
        )
        return _pass_out(s, p, secret, now)

    return await db.run_sync(work)


@router.post(
    "/{consultation_id}/votes", status_code=201, response_model=ResultsOut, responses=ERRORS
)
async def cast(
    consultation_id: Id, body: VoteIn, request: Request, db: DB, clock: ClockDep
) -> ResultsOut:
    """One vote (a survey: one ballot) each; a second is refused (409), nothing counted twice."""
    now = clock.now()
    p = participant(request, body.pass_, consultation_id, now)

    def work(s: Session) -> ResultsOut:
        c = get_consultation(s, consultation_id)
        if c.kind == "survey":
            if not body.answers:
                raise BadInput("answers", "a survey is answered with one option id per question")
            voting.answer(s, c, p, option_ids=body.answers, now=now)
        elif body.option_id is None:
            raise BadInput("option_id", "choose an option")
        else:
            voting.vote(s, c, p, option_id=body.option_id, now=now)
        return ResultsOut(**voting.results(s, c))

    return await write(db, work)


@router.post(
    "/{consultation_id}/proposals", status_code=201, response_model=OptionOut, responses=ERRORS
)
async def propose(
    consultation_id: Id, body: ProposalIn, request: Request, db: DB, clock: ClockDep
) -> OptionOut:
    now = clock.now()
    p = participant(request, body.pass_, consultation_id, now)

    def work(s: Session) -> OptionOut:
        c = get_consultation(s, consultation_id)
        o = voting.propose(s, c, p, label=body.label, body=body.body, now=now)
        return OptionOut(id=o.id, question=0, label=o.label, body=o.body, proposal=True,
                         hidden_reason=None)  # fmt: skip

    return await write(db, work)


@router.post(
    "/{consultation_id}/comments", status_code=201, response_model=CommentOut, responses=ERRORS
)
async def comment(
    consultation_id: Id, body: CommentIn, request: Request, db: DB, clock: ClockDep
) -> CommentOut:
    now = clock.now()
    p = participant(request, body.pass_, consultation_id, now)

    def work(s: Session) -> CommentOut:
        c = get_consultation(s, consultation_id)
        m = voting.comment(s, c, p, body=body.body, option_id=body.option_id, now=now)
        return CommentOut(id=m.id, option_id=m.option_id, author=pseudonym(m.author_key),
                          body=m.body, hidden_reason=None, created_at=m.created_at)  # fmt: skip

    return await write(db, work)
