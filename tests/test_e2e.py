"""``leadgraph serve`` as a real, separate process: the way an operator runs it.

No ``MONGODB_URL``, so the command starts its own embedded nx-27017 in the data directory and
must stop it again; Redis is the real test Redis. Everything is checked over loopback HTTP and
WebSocket, and every run asserts that no database process outlives the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from leadgraph.adapters.mongo.embedded import free_loopback_port
from tests.support import GraphQLSocket

pytestmark = pytest.mark.e2e

E2E_API_KEY = "e2e-bootstrap-key-0123456789abcdef"
STARTUP_SECONDS = 60.0
STOP_SECONDS = 20.0
LEAD_EVENTS = "subscription { leadEvents { type lead { id email } } }"


def serve_env(data_dir: Path, redis_url: str) -> dict[str, str]:
    """The operator's environment: no database URL, no secret key, a bootstrap API key."""
    env = {key: value for key, value in os.environ.items()
           if key.upper() not in {"MONGODB_URL", "SECRET_KEY", "LEADGRAPH_ENV",
                                  "MONGODB_DB_NAME", "API_KEY"}}
    env.update({
        "LEADGRAPH_DATA_DIR": str(data_dir),
        "API_KEY": E2E_API_KEY,
        "REDIS_URL": redis_url,
        "REDIS_CHANNEL_PREFIX": f"lge2e-{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def processes_mentioning(text: str) -> list[str]:
    """Live processes (not zombies) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


def children_of(pid: int) -> list[str]:
    """Command lines of the direct children of ``pid``."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(cmdline.strip())
    return children


def open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class ServeProcess:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def output(self) -> str:
        return read_log(self.log)


async def wait_healthy(serve: ServeProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    async with httpx.AsyncClient(base_url=serve.base_url, timeout=2) as http:
        while True:
            if serve.process.returncode is not None:
                pytest.fail(f"leadgraph serve exited with {serve.process.returncode}:\n"
                            f"{serve.output()}")
            try:
                response = await http.get("/health")
                if response.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > deadline:
                pytest.fail(f"leadgraph serve not healthy after {STARTUP_SECONDS} s:\n"
                            f"{serve.output()}")
            await asyncio.sleep(0.2)


async def stop(process: asyncio.subprocess.Process) -> bool:
    """SIGTERM, wait, then SIGKILL the whole group. True when SIGTERM was enough."""
    if process.returncode is not None:
        return True
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), STOP_SECONDS)
        return True
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return False


async def no_process_left(data_dir: Path) -> list[str]:
    """Processes still using ``data_dir`` once a bounded grace period is over.

    ``serve`` stops the embedded server itself; should it die before that, the server's
    parent-death signal stops it instead, asynchronously: allow it a moment to exit.
    """
    for _ in range(100):
        left = processes_mentioning(str(data_dir))
        if not left:
            return []
        await asyncio.sleep(0.1)
    return left


@contextlib.asynccontextmanager
async def leadgraph_serve(
    data_dir: Path, redis_url: str, *extra: str, log_name: str = "serve",
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[ServeProcess]:
    """``python -m leadgraph serve`` on a free port, healthy, and stopped afterwards.

    ``env`` overrides the operator's environment (e.g. a shared ``MONGODB_URL`` and
    ``REDIS_CHANNEL_PREFIX`` for several replicas).
    """
    port = free_loopback_port()
    log = data_dir.parent / f"{log_name}-{uuid.uuid4().hex[:6]}.log"
    handle = open_log(log)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "leadgraph", "serve", "--port", str(port),
            "--log-level", "warning", *extra,
            env={**serve_env(data_dir, redis_url), **(env or {})}, cwd=data_dir.parent,
            stdin=asyncio.subprocess.DEVNULL, stdout=handle, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        handle.close()
    serve = ServeProcess(process, port, log)
    try:
        await wait_healthy(serve)
        yield serve
    finally:
        graceful = await stop(process)
        left = await no_process_left(data_dir)
    # Reached only when the body succeeded: then shutdown itself is under test.
    assert graceful, f"leadgraph serve ignored SIGTERM:\n{serve.output()}"
    # A clean exit, or the conventional "ended by SIGTERM" (128 + 15, or the signal itself).
    assert process.returncode in (0, 128 + signal.SIGTERM, -signal.SIGTERM), serve.output()
    assert left == [], f"still running after serve stopped: {left}"


async def run_cli(data_dir: Path, redis_url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadgraph", *args,
        env=serve_env(data_dir, redis_url), cwd=data_dir.parent,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), STARTUP_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


def api(serve: ServeProcess, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=serve.base_url, timeout=30, headers=headers or {"X-API-Key": E2E_API_KEY}
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


async def test_serve_answers_graphiql_and_delivers_live_events(
    data_dir: Path, redis_url: str
) -> None:
    async with leadgraph_serve(data_dir, redis_url) as serve:
        # The embedded database is a child of the command, kept in the data directory.
        embedded = processes_mentioning(str(data_dir / "leadgraph.nx.db"))
        assert len(embedded) == 1, embedded
        assert "nx_27017" in embedded[0]
        assert (data_dir / "secret_key").is_file()

        async with api(serve) as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"},
                                  follow_redirects=False)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("text/html")
            assert "graphiql" in page.text.lower()

            socket = await GraphQLSocket.open(serve.ws_url, {"apiKey": E2E_API_KEY})
            try:
                await socket.subscribe("1", LEAD_EVENTS)
                # No subscribe ack and the server is another process: create leads until
                # one of them reaches the subscriber (bounded: 50 x 0.2 s).
                created: dict[str, str] = {}
                event: dict[str, Any] | None = None
                for attempt in range(50):
                    email = f"live{attempt}.{uuid.uuid4().hex[:6]}@example.com"
                    response = await http.post("/api/v1/leads", json={
                        "first_name": "Live", "last_name": f"Event{attempt}", "email": email,
                    })
                    assert response.status_code == 201, response.text
                    created[response.json()["id"]] = email
                    try:
                        event = await socket.next_data("1", timeout=0.2)
                        break
                    except TimeoutError:
                        continue
                assert event is not None, "no lead event reached the subscriber in 10 s"
                assert "errors" not in event, event
                received = event["data"]["leadEvents"]
                assert received["type"] == "CREATED"
                assert received["lead"]["id"] in created
                assert received["lead"]["email"] == created[received["lead"]["id"]]
            finally:
                await socket.close()


async def test_data_and_tokens_survive_a_restart(data_dir: Path, redis_url: str) -> None:
    # The CLI works on the same data directory while the server is stopped.
    code, output = await run_cli(
        data_dir, redis_url, "users", "create", "--email", "owner@example.com",
        "--password", "correct horse battery staple", "--name", "Owner",
    )
    assert code == 0, output
    assert "created admin owner@example.com" in output  # the first user is always an admin
    assert processes_mentioning(str(data_dir)) == [], "the CLI left its database running"
    secret = (data_dir / "secret_key").read_text()
    assert len(secret.strip()) >= 32

    async with leadgraph_serve(data_dir, redis_url, log_name="first") as serve:
        async with api(serve) as http:
            login = await http.post("/api/v1/auth/login", json={
                "email": "owner@example.com", "password": "correct horse battery staple",
            })
            assert login.status_code == 200, login.text
            assert login.json()["user"]["email"] == "owner@example.com"
            token = login.json()["access_token"]

        async with api(serve, Authorization=f"Bearer {token}") as http:
            created = await http.post("/api/v1/leads", json={
                "first_name": "Persistent", "last_name": "Lead",
                "email": "persistent@example.com", "company": "Durable Inc",
            })
            assert created.status_code == 201, created.text
            lead = created.json()
            assert (await http.get(f"/api/v1/leads/{lead['id']}")).json() == lead

    async with leadgraph_serve(data_dir, redis_url, log_name="second") as serve:
        async with api(serve, Authorization=f"Bearer {token}") as http:
            # The token signed before the restart still verifies: same generated secret.
            again = await http.get(f"/api/v1/leads/{lead['id']}")
            assert again.status_code == 200, again.text
            assert again.json() == lead
            listed = await http.get("/api/v1/leads", params={"per_page": 50})
            assert listed.status_code == 200, listed.text
            assert [item["id"] for item in listed.json()["leads"]] == [lead["id"]]

        # And tokens are really checked: a token signed with another key is refused.
        async with api(serve, Authorization=f"Bearer {token[:-4]}AAAA") as http:
            forged = await http.get(f"/api/v1/leads/{lead['id']}")
            assert forged.status_code == 401, forged.text
            assert forged.json()["status_code"] == 401

    assert (data_dir / "secret_key").read_text() == secret


async def test_serve_with_two_workers(data_dir: Path, redis_url: str) -> None:
    async with leadgraph_serve(data_dir, redis_url, "--workers", "2") as serve:
        children = children_of(serve.process.pid)
        workers = [cmd for cmd in children if "multiprocessing.spawn" in cmd]
        assert len(workers) == 2, children
        # One embedded database shared by both workers, started by the supervisor.
        assert len([cmd for cmd in children if "nx_27017" in cmd]) == 1, children

        async with api(serve) as http:
            created = await http.post("/api/v1/leads", json={
                "first_name": "Two", "last_name": "Workers", "email": "two@example.com",
            })
            assert created.status_code == 201, created.text
            lead_id = created.json()["id"]
        # Fresh connections, so requests spread over both workers; all see the same data.
        for _ in range(6):
            async with api(serve) as http:
                found = await http.get(f"/api/v1/leads/{lead_id}")
                assert found.status_code == 200, found.text
                assert found.json()["email"] == "two@example.com"
