"""The warehouse's tables as Arrow schemas: what is copied out of the operational database.

Requests carry their place and category already resolved to every level of the trees
(district, street, community, grid; category levels 1–3), so that a heat map or a ranking by
first-level category is one GROUP BY, not a recursive walk. Personal data (contacts) and free
text are not copied: the warehouse feeds aggregates, and what it does not hold cannot leak.
"""

from __future__ import annotations

import pyarrow as pa

# Bumped when a column changes: a warehouse of another version is rebuilt from scratch.
SCHEMA_VERSION = 1

UTC_TS = pa.timestamp("us", tz="UTC")

REQUESTS = pa.schema(
    [
        ("id", pa.int64()),
        ("ticket", pa.string()),
        ("channel", pa.string()),
        ("received_at", UTC_TS),
        ("day", pa.date32()),  # local day in the city's time zone
        ("area_id", pa.int64()),
        ("district_id", pa.int64()),
        ("street_id", pa.int64()),
        ("community_id", pa.int64()),
        ("grid_id", pa.int64()),
        ("category_id", pa.int64()),
        ("cat1_id", pa.int64()),
        ("cat2_id", pa.int64()),
        ("cat3_id", pa.int64()),
        ("category_confirmed", pa.bool_()),
        ("urgency", pa.string()),
        ("urgency_score", pa.float64()),
        ("status", pa.string()),
        ("lead_unit_id", pa.int64()),
        ("duplicate_of_id", pa.int64()),
        ("heat", pa.int32()),
        ("dispatched_at", UTC_TS),
        ("response_due", UTC_TS),
        ("handling_due", UTC_TS),
        ("accepted_at", UTC_TS),
        ("replied_at", UTC_TS),
        ("closed_at", UTC_TS),
        ("response_overdue", pa.bool_()),
        ("handling_overdue", pa.bool_()),
        ("return_count", pa.int32()),
        ("reopen_count", pa.int32()),
        ("solved", pa.bool_()),
        ("satisfaction", pa.string()),
        ("resolution", pa.string()),
        ("synthetic", pa.bool_()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("updated_at", UTC_TS),
    ]
)

EVENTS = pa.schema(
    [
        ("id", pa.int64()),
        ("request_id", pa.int64()),
        ("seq", pa.int32()),
        ("kind", pa.string()),
        ("from_status", pa.string()),
        ("to_status", pa.string()),
        ("at", UTC_TS),
        ("day", pa.date32()),
    ]
)

AREAS = pa.schema(
    [
        ("id", pa.int64()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("level", pa.string()),
        ("parent_id", pa.int64()),
        ("path", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
    ]
)

CATEGORIES = pa.schema(
    [
        ("id", pa.int64()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("level", pa.int32()),
        ("parent_id", pa.int64()),
        ("path", pa.string()),
    ]
)

UNITS = pa.schema(
    [
        ("id", pa.int64()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("parent_id", pa.int64()),
    ]
)
