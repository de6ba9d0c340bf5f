"""How groups are named in the report: codes with the city's names beside them."""

from __future__ import annotations

from collections.abc import Callable

from jiesu.algoaudit.records import Names, Row

CHANNEL_FAMILIES = {"phone": "电话 phone", "online": "网络 online", "other": "其他 other"}


def group_keys(row: Row) -> dict[str, str | None]:
    from jiesu.algoaudit.records import channel_family

    return {
        "category": row.top_category,
        "district": row.district,
        "channel": row.channel,
        "channel_family": channel_family(row.channel),
    }


def labellers(names: Names) -> dict[str, Callable[[str], str]]:
    return {
        "category": lambda c: names.categories.get(c, c),
        "district": lambda c: names.areas.get(c, c),
        "channel": str,
        "channel_family": lambda c: CHANNEL_FAMILIES.get(c, c),
    }
