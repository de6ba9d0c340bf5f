"""A small city with communities and grids, and its sensor rules and sensors, in code."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from jiesu.city.pack import AreaRow, CategoryRow, CityPack, UnitRow

from factories import city_pack

GRID_DHM = "11010100100101"  # 东华门街道 › 多福巷社区 › 第1网格: ST-110101001
GRID_DHM_2 = "11010100100102"
COMMUNITY_DHM = "110101001001"
GRID_NO_OFFICE = "11010109900101"  # a street without a street office: DG-110101
GRID_NOBODY = "11010200100101"  # 西城区 has neither a street office nor a government here
GRID_JDK = "11010100800101"  # 交道口街道: ST-110101008

RULES: list[dict[str, Any]] = [
    # 消防安全 has limits of its own (1h/12h), shorter than the emergency class (2h/24h).
    {"kind": "smoke", "name": "烟感报警", "category": "130809", "threshold": 1},
    {"kind": "gas", "name": "燃气泄漏报警", "category": "010103", "threshold": 20},
    # Alarms when the reading falls to the threshold or below.
    {"kind": "pressure", "name": "消火栓水压低", "category": "010102", "threshold": 0.1,
     "above": False},
    # A general category with an emergency rule: the emergency class's limits apply.
    {"kind": "door", "name": "消防通道门常开", "category": "010101", "threshold": 10,
     "urgency": "emergency"},
]  # fmt: skip
SENSORS: list[dict[str, Any]] = [
    {"code": "SMK-0001", "kind": "smoke", "area": GRID_DHM, "lat": 39.916, "lon": 116.405,
     "description": "多福巷12号院"},
    {"code": "SMK-0002", "kind": "smoke", "area": GRID_NO_OFFICE},
    {"code": "SMK-0003", "kind": "smoke", "area": GRID_NOBODY},
    {"code": "SMK-0004", "kind": "smoke", "area": COMMUNITY_DHM},
    {"code": "GAS-0001", "kind": "gas", "area": GRID_JDK, "unit": "PS-WATER"},
    {"code": "PRS-0001", "kind": "pressure", "area": GRID_JDK},
    {"code": "DOOR-0001", "kind": "door", "area": GRID_DHM_2},
]  # fmt: skip


def sensor_city_pack() -> CityPack:
    pack = city_pack()
    pack.areas += [
        AreaRow(COMMUNITY_DHM, "110101001", "community", "多福巷社区", [], None, None),
        AreaRow(GRID_DHM, COMMUNITY_DHM, "grid", "多福巷社区第1网格", [], None, None),
        AreaRow(GRID_DHM_2, COMMUNITY_DHM, "grid", "多福巷社区第2网格", [], None, None),
        AreaRow("110101008001", "110101008", "community", "交东社区", [], None, None),
        AreaRow(GRID_JDK, "110101008001", "grid", "交东社区第1网格", [], None, None),
        AreaRow("110101099", "110101", "street", "测试街道", [], None, None),
        AreaRow("110101099001", "110101099", "community", "测试社区", [], None, None),
        AreaRow(GRID_NO_OFFICE, "110101099001", "grid", "测试社区第1网格", [], None, None),
        AreaRow("110102001", "110102", "street", "西长安街街道", [], None, None),
        AreaRow("110102001001", "110102001", "community", "府右街南社区", [], None, None),
        AreaRow(GRID_NOBODY, "110102001001", "grid", "府右街南社区第1网格", [], None, None),
    ]
    pack.categories += [
        CategoryRow("13", None, 1, "政法", "general", "24h", "7wd", []),
        CategoryRow("1308", "13", 2, "社会治安", "general", "24h", "7wd", []),
        CategoryRow("130809", "1308", 3, "消防安全", "emergency", "1h", "12h", ["火灾"]),
    ]
    pack.units.append(
        UnitRow("CB-XFZD", "市消防救援总队", "city_bureau", ["110000"], ["130809"], "", None)
    )
    return pack


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def alarm(sensor: str, kind: str, value: float, at: datetime | None, **extra: Any) -> str:
    body: dict[str, Any] = {"sensor": sensor, "kind": kind, "value": value, **extra}
    if at is not None:
        body["time"] = at.isoformat()
    return json.dumps(body, ensure_ascii=False)
