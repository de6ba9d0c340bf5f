"""The one table of allowed transitions: a request's whole life is readable here.

received → dispatched → accepted (签收) → replied (答复) → called_back (回访) → closed
returned (退单) → dispatched again; transfer → dispatched to another unit; reopen (unsatisfied)
→ dispatched to the same unit with new deadlines; merge → merged (duplicate); mark_invalid →
invalid_pending → invalid (a supervisor confirms) or back to received (a supervisor rejects).
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = (
    "received",
    "dispatched",
    "accepted",
    "returned",
    "replied",
    "called_back",
    "closed",
    "answered",
    "invalid_pending",
    "invalid",
    "merged",
)
OPEN_STATUSES = frozenset(STATUSES) - {"closed", "answered", "invalid", "merged"}

STAFF = frozenset({"operator", "dispatcher", "handler", "supervisor", "admin"})
DISPATCH_DESK = frozenset({"operator", "dispatcher", "supervisor", "admin"})
UNIT_DESK = frozenset({"handler", "supervisor", "admin"})
CALL_DESK = frozenset({"operator", "supervisor", "admin"})
REVIEWERS = frozenset({"supervisor", "admin"})
SYSTEM = "system"

# The target "same" keeps the status (a note).
SAME = "same"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]
    # Handlers may only take this action on requests their own unit leads (other roles are not
    # bound to a unit). Handlers never act on a request their unit neither leads nor assists.
    lead_unit_only: bool = False
    summary: str = ""


def _t(
    action: str, sources: tuple[str, ...], target: str, roles: frozenset[str], **kw: object
) -> Transition:
    return Transition(action, frozenset(sources), target, roles, **kw)  # type: ignore[arg-type]


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t(
            "dispatch",
            ("received", "returned"),
            "dispatched",
            DISPATCH_DESK,
            summary="派单: send to a lead unit (and assisting units)",
        ),
        _t(
            "accept",
            ("dispatched",),
            "accepted",
            UNIT_DESK,
            lead_unit_only=True,
            summary="签收: the lead unit takes the case",
        ),
        _t(
            "return",
            ("dispatched", "accepted"),
            "returned",
            UNIT_DESK,
            lead_unit_only=True,
            summary="退单: the unit returns a wrongly sent case, with a reason",
        ),
        _t(
            "transfer",
            ("dispatched", "accepted"),
            "dispatched",
            DISPATCH_DESK,
            summary="转派: send the case to another unit",
        ),
        _t(
            "redispatch",
            ("dispatched", "accepted"),
            "dispatched",
            UNIT_DESK,
            lead_unit_only=True,
            summary="二级派单: a district government sends the case to a unit inside its area",
        ),
        _t(
            "contest",
            ("dispatched", "accepted"),
            SAME,
            UNIT_DESK,
            lead_unit_only=True,
            summary="派单争议: the lead unit contests the dispatch; a supervisor decides",
        ),
        _t(
            "uphold_dispute",
            ("dispatched", "accepted"),
            "dispatched",
            REVIEWERS,
            summary="the dispute is right: the case moves (and the catalogue may change)",
        ),
        _t(
            "reject_dispute",
            ("dispatched", "accepted"),
            SAME,
            REVIEWERS,
            summary="the dispute is wrong: the case stays with the unit",
        ),
        _t(
            "whistle",
            ("dispatched", "accepted"),
            SAME,
            UNIT_DESK,
            lead_unit_only=True,
            summary="吹哨: the street office summons departments into the case",
        ),
        _t(
            "report",
            ("dispatched", "accepted", "replied"),
            SAME,
            UNIT_DESK,
            summary="报到: a summoned department reports and says what it will do",
        ),
        _t(
            "reply",
            ("accepted",),
            "replied",
            UNIT_DESK,
            lead_unit_only=True,
            summary="答复: the unit answers the citizen",
        ),
        _t(
            "call_back",
            ("replied",),
            "called_back",
            CALL_DESK | {SYSTEM},
            summary="回访: ask the citizen whether it was solved and if satisfied",
        ),
        _t(
            "answer",
            ("received",),
            "answered",
            CALL_DESK,
            summary="直接答复: a consultation answered at first contact, no work order needed",
        ),
        _t(
            "close",
            ("called_back",),
            "closed",
            CALL_DESK | {SYSTEM},
            summary="办结: close the case",
        ),
        _t(
            "reopen",
            ("called_back", "closed"),
            "dispatched",
            # The system reopens on an unsolved/unsatisfied call-back (see jiesu.loop.service).
            CALL_DESK | {SYSTEM},
            summary="重办: unsatisfied; back to the same unit with a new deadline",
        ),
        _t(
            "merge",
            ("received", "dispatched", "accepted", "returned"),
            "merged",
            DISPATCH_DESK,
            summary="合并: a duplicate of another request",
        ),
        _t(
            "mark_invalid",
            ("received", "dispatched", "accepted", "returned"),
            "invalid_pending",
            STAFF,
            lead_unit_only=True,
            summary="propose 无效/不合理 (spam or unreasonable); a supervisor decides",
        ),
        _t(
            "confirm_invalid",
            ("invalid_pending",),
            "invalid",
            REVIEWERS,
            summary="confirm the request is invalid",
        ),
        _t(
            "reject_invalid",
            ("invalid_pending",),
            "received",
            REVIEWERS,
            summary="reject the proposal; the request goes back to intake",
        ),
        _t(
            "categorize",
            ("received", "dispatched", "accepted", "returned", "invalid_pending"),
            SAME,
            DISPATCH_DESK,
            summary="分类: set or confirm the category (a correction teaches the classifier)",
        ),
        _t("note", STATUSES, SAME, STAFF, summary="add an internal note"),
    )
}

# Actions that (re)start the clock of the lead unit.
STARTS_DEADLINES = frozenset({"dispatch", "transfer", "reopen", "uphold_dispute"})


def allowed_actions(status: str, role: str) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if status in t.sources and role in t.roles]


def target_status(action: str, status: str) -> str:
    target = TRANSITIONS[action].target
    return status if target == SAME else target
