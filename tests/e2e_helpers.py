"""What the browser tests share: signing in through the real form."""

from __future__ import annotations

from typing import Any


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
