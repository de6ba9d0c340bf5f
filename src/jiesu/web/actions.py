"""The forms of the workflow actions: which fields each asks, read back into the API's bodies.

The fields come from the same action bodies the API validates (``ACTION_ROUTES``), so a form
can never ask for something the service would refuse, and every refusal names the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from jiesu.workflow.schemas import ACTION_ROUTES

ACTION_PATH = {action: path for path, (action, _) in ACTION_ROUTES.items()}


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    en: str
    kind: str = "text"  # text | textarea | unit | units | category | choice
    required: bool = False
    choices: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class ActionForm:
    action: str
    zh: str
    en: str
    fields: tuple[Field, ...] = ()
    danger: bool = False


_REASON = Field("reason", "原因", "Reason", "textarea", True)
_NOTE = Field("note", "备注", "Note", "textarea")
RESOLUTION = (
    ("solved", "已解决", "solved"),
    ("partly", "部分解决", "partly"),
    ("unsolved", "未解决", "not solved"),
)
SATISFACTION = (
    ("satisfied", "满意", "satisfied"),
    ("basically", "基本满意", "fairly"),
    ("unsatisfied", "不满意", "not satisfied"),
)
FORMS: dict[str, ActionForm] = {
    f.action: f
    for f in (
        ActionForm(
            "dispatch",
            "派单",
            "Dispatch",
            (
                Field(
                    "unit",
                    "主办单位（留空按派单目录）",
                    "Lead unit (empty: follow the catalogue)",
                    "unit",
                ),
                Field(
                    "assisting_units",
                    "协办单位（逗号分隔）",
                    "Assisting units (comma-separated)",
                    "units",
                ),
                Field(
                    "category", "类别（确认或更正）", "Category (confirm or correct)", "category"
                ),
                _NOTE,
            ),
        ),
        ActionForm("accept", "签收", "Accept"),
        ActionForm("return", "退单", "Return", (_REASON,), danger=True),
        ActionForm(
            "transfer",
            "转派",
            "Transfer",
            (Field("unit", "转至单位", "To unit", "unit", True), _REASON),
        ),
        ActionForm(
            "reply",
            "答复",
            "Reply",
            (
                Field(
                    "text", "答复内容（市民可见）", "Reply (the citizen sees it)", "textarea", True
                ),
            ),
        ),
        ActionForm(
            "call_back",
            "回访结果",
            "Call-back result",
            (
                Field("resolution", "是否解决", "Solved?", "choice", True, RESOLUTION),
                Field("satisfaction", "是否满意", "Satisfied?", "choice", True, SATISFACTION),
                _NOTE,
            ),
        ),
        ActionForm("close", "办结", "Close", (_NOTE,)),
        ActionForm(
            "answer",
            "直接答复（咨询）",
            "Answer directly (consultation)",
            (
                Field(
                    "text", "答复内容（市民可见）", "Answer (the citizen sees it)", "textarea", True
                ),
            ),
        ),
        ActionForm(
            "reopen",
            "重办",
            "Reopen",
            (_REASON, Field("unit", "改由单位（督办）", "Other unit (supervisors)", "unit")),
        ),
        ActionForm(
            "merge",
            "合并到",
            "Merge into",
            (Field("into", "原工单号", "Original ticket", "text", True),),
        ),
        ActionForm(
            "categorize",
            "确认类别",
            "Set category",
            (Field("category", "类别", "Category", "category", True), _NOTE),
        ),
        ActionForm("mark_invalid", "申请不予受理", "Mark invalid", (_REASON,), danger=True),
        ActionForm("confirm_invalid", "确认不予受理", "Confirm invalid", (_NOTE,), danger=True),
        ActionForm("reject_invalid", "驳回不予受理", "Reject invalid", (_REASON,)),
        ActionForm(
            "note", "内部备注", "Internal note", (Field("text", "备注", "Note", "textarea", True),)
        ),
        ActionForm(
            "redispatch",
            "区内再派",
            "Re-dispatch in district",
            (Field("unit", "单位", "Unit", "unit", True), _NOTE),
        ),
        ActionForm(
            "contest",
            "申诉派单",
            "Contest dispatch",
            (_REASON, Field("proposed_unit", "应由单位", "Should go to", "unit")),
            danger=True,
        ),
        ActionForm(
            "uphold_dispute",
            "支持申诉",
            "Uphold dispute",
            (
                Field("note", "理由", "Why", "textarea", True),
                Field("unit", "改派单位（默认申诉提出的单位）", "Unit (default: proposed)", "unit"),
            ),
        ),
        ActionForm(
            "reject_dispute",
            "驳回申诉",
            "Reject dispute",
            (Field("note", "理由", "Why", "textarea", True),),
        ),
        ActionForm(
            "whistle",
            "吹哨",
            "Whistle (summon units)",
            (
                Field("units", "被召集单位（逗号分隔）", "Units (comma-separated)", "units", True),
                _REASON,
                Field("limit", "报到时限（如 2h、1wd）", "Report within (e.g. 2h, 1wd)"),
            ),
        ),
        ActionForm(
            "report",
            "报到",
            "Report",
            (Field("text", "将采取的措施", "What the unit will do", "textarea", True),),
        ),
    )
}


def body_of(action: str, values: dict[str, str]) -> dict[str, Any]:
    """The action's parameters from a submitted form, checked by the API's own body model.

    Raises pydantic's ValidationError naming the form field; empty optional fields are left
    out (they mean "not given", as an absent JSON key does).
    """
    path = ACTION_PATH[action]
    schema: type[BaseModel] | None = ACTION_ROUTES[path][1]
    form = FORMS.get(action)
    raw: dict[str, Any] = {}
    for f in form.fields if form else ():
        value = values.get(f.name, "").strip()
        if not value:
            continue
        raw[f.name] = (
            [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
            if f.kind == "units"
            else value
        )
    if schema is None:
        return {}
    return schema.model_validate(raw).model_dump(exclude_none=True)


__all__ = ["FORMS", "ActionForm", "Field", "ValidationError", "body_of"]
