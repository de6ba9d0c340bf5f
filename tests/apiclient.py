"""A test client that signs requests as one of the factory users."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from factories import World


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str], world: World):
        self.client, self.tokens, self.world = client, tokens, world

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def get(self, url: str, who: str = "sup", **kw: Any) -> Any:
        return self.client.get(url, headers=self.as_(who), **kw)

    def post(self, url: str, who: str = "op", **kw: Any) -> Any:
        return self.client.post(url, headers=self.as_(who), **kw)
