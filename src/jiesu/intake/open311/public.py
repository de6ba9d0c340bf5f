"""What the public may see of a request's history: a status word and a short text per event.

Everything here is served without a key, so it is built from what is public by nature (the
unit's answer, the outcome) and free text goes through ``privacy.pii.mask_text`` (phone, ID
card, bank card and plate numbers, e-mail addresses): citizens often say them on the phone,
and the log keeps their words. Internal steps (notes, overdue flags, invalid proposals) are
not shown at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jiesu.privacy.pii import mask_text
from jiesu.workflow.transitions import OPEN_STATUSES

# Spec statuses of a request: closed covers every end state of ours.
CLOSED_STATUSES = frozenset({"closed", "answered", "invalid", "merged"})
assert CLOSED_STATUSES.isdisjoint(OPEN_STATUSES)


def spec_status(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def statuses_for(spec: str) -> frozenset[str]:
    return CLOSED_STATUSES if spec == "closed" else frozenset(OPEN_STATUSES)


@dataclass(frozen=True)
class PublicStep:
    """How one event reads to the public, in the FixMyStreet update vocabulary."""

    status: str
    description: str


def _unit(payload: Mapping[str, Any]) -> str:
    return str(payload.get("unit_name") or "承办单位")


# Each event kind, as the state the citizen's report is in after it. Dispatch, transfer and
# return keep the report OPEN: the hotline still owns the case, and FixMyStreet files
# INTERNAL_REFERRAL and NOT_COUNCILS_RESPONSIBILITY under closed states.
def public_step(kind: str, payload: Mapping[str, Any], *, solved: bool | None) -> PublicStep | None:
    """``solved`` is the call-back's finding that preceded a ``close`` (None if unknown)."""
    text = str(payload.get("text") or payload.get("note") or "")
    if kind == "received":
        return PublicStep("OPEN", "诉求已受理")
    if kind == "dispatch":
        return PublicStep("OPEN", f"已派发至{_unit(payload)}")
    if kind in ("transfer", "redispatch", "uphold_dispute"):
        return PublicStep("OPEN", f"已转派至{_unit(payload)}")
    if kind == "whistle":
        return PublicStep("INVESTIGATING", "已协调相关部门共同办理")
    if kind == "accept":
        return PublicStep("INVESTIGATING", "承办单位已签收，正在办理")
    if kind == "return":
        return PublicStep("OPEN", "承办单位退回，将重新派单")
    if kind == "reply":
        return PublicStep("IN_PROGRESS", mask_text(text) or "承办单位已答复")
    if kind == "call_back":
        if payload.get("solved"):
            return PublicStep("FIXED", "回访：问题已解决")
        return PublicStep("IN_PROGRESS", "回访：问题尚未解决")
    if kind == "close":
        return PublicStep("FIXED" if solved else "CLOSED", mask_text(text) or "已办结")
    if kind == "answer":
        return PublicStep("CLOSED", mask_text(text) or "已直接答复")
    if kind == "reopen":
        return PublicStep("REOPEN", "重新办理")
    if kind == "merge":
        return PublicStep("DUPLICATE", f"与工单{payload.get('into', '')}重复，已合并办理")
    if kind == "confirm_invalid":
        return PublicStep("NO_FURTHER_ACTION", "经审核为无效诉求，不再办理")
    if kind == "reject_invalid":
        return PublicStep("OPEN", "重新受理")
    return None  # note, overdue, mark_invalid, contest, reject_dispute, report: internal


PUBLIC_KINDS = (
    "received",
    "dispatch",
    "transfer",
    "redispatch",
    "uphold_dispute",
    "whistle",
    "accept",
    "return",
    "reply",
    "call_back",
    "close",
    "answer",
    "reopen",
    "merge",
    "confirm_invalid",
    "reject_invalid",
)
