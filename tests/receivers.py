"""A real HTTP receiver on loopback (Starlette + uvicorn) for webhook and Graph API tests.

It records every request and answers from a script: an int status, or "timeout" (sleeps past
the sender's timeout, then answers 200). When the script runs out it answers ``by_path[path]``
or else ``default``. A 2xx answer's body is ``bodies[path](request body)`` when given (a fake
Graph API returns message ids), else ``{"ok": true}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support import run_uvicorn


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | str

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    base_url: str = ""
    script: list[int | str] = field(default_factory=list)
    default: int = 200
    sleep_seconds: float = 2.0
    received: list[Received] = field(default_factory=list)
    by_path: dict[str, int | str] = field(default_factory=dict)
    bodies: dict[str, Callable[[bytes], Any]] = field(default_factory=dict)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        answer: int | str = (self.script.pop(0) if self.script
                             else self.by_path.get(path, self.default))
        self.received.append(Received(path, dict(request.headers), body, answer))
        if answer == "timeout":
            await asyncio.sleep(self.sleep_seconds)
            return JSONResponse({"ok": True})
        if 200 <= int(answer) < 300 and path in self.bodies:
            return JSONResponse(self.bodies[path](body), status_code=int(answer))
        return JSONResponse({"ok": answer == 200}, status_code=int(answer))

    def at(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

    async def wait_for(
        self, predicate: Callable[[], bool], attempts: int = 400, pause: float = 0.05
    ) -> None:
        for _ in range(attempts):
            if predicate():
                return
            await asyncio.sleep(pause)
        seen = [(r.path, r.answered, r.body[:120]) for r in self.received]
        raise AssertionError(f"condition not met; received: {seen}")


@contextlib.asynccontextmanager
async def run_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    async with run_uvicorn(app) as base_url:
        receiver.base_url = base_url
        yield receiver


def hmac_hex(secret: str, message: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_delivery(item: Received, secret: str) -> dict[str, Any]:
    """Check both signatures the way a receiver would; return the parsed payload."""
    timestamp = item.headers["x-leadgraph-timestamp"]
    timed = item.headers["x-leadgraph-signature"].split(",")
    plain = item.headers["x-signature"].split(",")
    assert hmac_hex(secret, timestamp.encode() + b"." + item.body) in timed
    assert hmac_hex(secret, item.body) in plain
    payload: dict[str, Any] = json.loads(item.body)
    # Seed 004's JS verifier hashes JSON.stringify(JSON.parse(body)): compact JSON round-trips.
    assert json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode() == item.body
    return payload
