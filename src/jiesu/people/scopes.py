"""API token scopes: what a token may do, whatever its user's role would allow.

A scope is ``<family>:<read|write>``; the family is the first segment of the API path after
``/api/v1/`` (``requests``, ``dispatch``, ``rates``, ``analytics``, …), ``read`` covers GET and
HEAD, ``write`` everything else. ``*`` stands for any family or either access, so
``requests:*`` is all of the requests API and ``*:read`` is read-only everywhere. A token
without scopes (a sign-in) has all its role allows; scopes only ever narrow a role, never
widen it. ``account`` alone is the token of someone who must still enrol a second factor:
it reaches nothing but their own account.
"""

from __future__ import annotations

import re

from jiesu.errors import BadInput, Forbidden

ACCOUNT = "account"
FAMILIES = (
    "requests",
    "public",
    "areas",
    "categories",
    "units",
    "understanding",
    "rates",
    "callbacks",
    "exclusions",
    "dispatch",
    "analytics",
    "surge",
    "me",
)
_SCOPE = re.compile(r"^(?P<family>[a-z*]+):(?P<access>read|write|\*)$")
# Paths a token with no more than ``account`` may still reach: who am I, my second factor.
_ACCOUNT_PATHS = ("me",)


def parse_scopes(text: str | list[str] | None) -> frozenset[str] | None:
    """Checked scopes from a space- or comma-separated string (or a list); None for none given."""
    if text is None:
        return None
    items = text if isinstance(text, list) else re.split(r"[\s,]+", text)
    scopes = {s.strip() for s in items if s.strip()}
    if not scopes:
        return None
    for scope in scopes:
        if scope == ACCOUNT:
            continue
        m = _SCOPE.match(scope)
        if m is None or (m["family"] != "*" and m["family"] not in FAMILIES):
            raise BadInput(
                "scopes",
                f"{scope!r} is not a scope; use <family>:<read|write|*> with a family of "
                f"{', '.join(FAMILIES)} or *, e.g. requests:write",
            )
    return frozenset(scopes)


def store(scopes: frozenset[str] | None) -> str | None:
    return " ".join(sorted(scopes)) if scopes else None


def family_of(path: str) -> str:
    rest = path.removeprefix("/api/v1/").split("/", 1)[0]
    return rest or "me"


def allows(scopes: frozenset[str] | None, method: str, path: str) -> bool:
    if scopes is None:
        return True
    family = family_of(path)
    if family in _ACCOUNT_PATHS:
        return True
    access = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
    wanted = {f"{family}:{access}", f"{family}:*", f"*:{access}", "*:*"}
    return bool(wanted & scopes)


def require(scopes: frozenset[str] | None, method: str, path: str) -> None:
    if allows(scopes, method, path):
        return
    if scopes == {ACCOUNT}:
        raise Forbidden(
            "your role must sign in with a second factor: enrol first "
            "(POST /api/v1/me/second-factor, or the web page /account/second-factor)"
        )
    family = family_of(path)
    access = "read" if method in ("GET", "HEAD", "OPTIONS") else "write"
    raise Forbidden(
        f"this token's scopes ({' '.join(sorted(scopes or ()))}) do not include {family}:{access}"
    )
