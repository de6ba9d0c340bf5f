"""The staff desks: where each role works, in the order the navigation shows them."""

from __future__ import annotations

ROLE_NAMES: dict[str, tuple[str, str]] = {
    "citizen": ("市民", "citizen"),
    "operator": ("话务员", "operator"),
    "dispatcher": ("派单员", "dispatcher"),
    "handler": ("承办单位", "unit handler"),
    "supervisor": ("督办", "supervisor"),
    "analyst": ("分析员", "analyst"),
    "admin": ("管理员", "admin"),
    "system": ("系统", "system"),
}

# Desks that exist only for the whole city: not offered to an account kept to one area.
CITY_WIDE: frozenset[str] = frozenset({"/desk/topics"})

# (path, zh, en, roles that see it)
STAFF_NAV: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/desk/intake", "受理", "Intake", ("operator",)),
    ("/desk/callbacks", "回访", "Call-backs", ("operator", "supervisor")),
    ("/desk/dispatch", "派单", "Dispatch", ("dispatcher", "supervisor")),
    ("/desk/unit", "本单位诉求", "My unit", ("handler",)),
    (
        "/desk/requests",
        "诉求查询",
        "Requests",
        ("operator", "dispatcher", "supervisor", "analyst", "admin", "handler"),
    ),
    ("/desk/overview", "总览", "Overview", ("supervisor", "analyst", "admin")),
    ("/desk/rates", "考评排名", "Rates", ("supervisor", "analyst", "admin", "handler")),
    ("/desk/hot", "热点", "Hot issues", ("supervisor", "analyst", "admin")),
    ("/desk/warnings", "预警", "Warnings", ("supervisor", "analyst", "admin")),
    ("/desk/surge", "突发事件", "Events", ("supervisor", "analyst", "admin", "dispatcher")),
    ("/desk/topics", "每月一题", "Monthly topic", ("supervisor", "analyst", "admin")),
    ("/desk/heat", "热力图", "Heat map", ("supervisor", "analyst", "admin")),
    ("/desk/consult", "议事", "Consultations", ("supervisor", "analyst", "admin")),
    ("/desk/reports", "报告", "Reports", ("supervisor", "analyst", "admin")),
    ("/desk/knowledge", "知识库", "Knowledge", ("handler", "supervisor", "admin")),
    ("/desk/equity", "服务均等", "Equity", ("supervisor", "analyst", "admin")),
    ("/desk/audit", "算法审计", "Model audit", ("supervisor", "analyst", "admin")),
    ("/desk/review", "审核", "Reviews", ("supervisor",)),
    ("/desk/admin", "系统管理", "Admin", ("admin",)),
]
