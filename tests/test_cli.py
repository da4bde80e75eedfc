"""The ``leadgraph`` command, run as a real subprocess against the real database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.conftest import SECRET, make_settings, serve
from tests.support import LiveServer, gql

CLI_TIMEOUT = 120
# Settings the CLI must not inherit from whoever runs the tests.
_SCRUBBED = {"MONGODB_URL", "MONGODB_DB_NAME", "REDIS_URL", "API_KEY", "SECRET_KEY",
             "LEADGRAPH_ENV", "LEADGRAPH_DATA_DIR", "REDIS_CHANNEL_PREFIX"}


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli_env(data_dir: Path, mongo_url: str | None = None, db_name: str | None = None
            ) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key.upper() not in _SCRUBBED}
    env.update(SECRET_KEY=SECRET, LEADGRAPH_DATA_DIR=str(data_dir))
    if mongo_url is not None:
        env["MONGODB_URL"] = mongo_url
    if db_name is not None:
        env["MONGODB_DB_NAME"] = db_name
    return env


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "leadgraph", *args], env=env, cwd=cwd, capture_output=True,
        text=True, timeout=CLI_TIMEOUT, check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


async def run_cli_async(env: dict[str, str], cwd: Path, *args: str) -> Result:
    """The same, without blocking the event loop the live servers run in."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "leadgraph", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


@pytest.fixture
async def db_name(mongo_url: str) -> AsyncIterator[str]:
    """A database of its own for this test's CLI runs, dropped afterwards."""
    name = f"lgcli_{uuid.uuid4().hex[:8]}"
    yield name
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli(cli_env(tmp_path), tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "schema", "users", "api-keys"):
        assert command in result.stdout
    assert "Usage: leadgraph" in result.stdout


def test_unknown_command_fails_cleanly(tmp_path: Path) -> None:
    result = run_cli(cli_env(tmp_path), tmp_path, "frobnicate")
    assert result.returncode == 2
    assert "No such command" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_export_prints_the_sdl(tmp_path: Path) -> None:
    result = run_cli(cli_env(tmp_path), tmp_path, "schema", "export")
    assert result.returncode == 0, result.stderr
    sdl = result.stdout
    assert "type Query" in sdl
    assert "type Mutation" in sdl
    assert "type Subscription" in sdl
    assert "leads(" in sdl
    assert "createLead(" in sdl
    assert "createApiKey(" in sdl
    assert "Traceback" not in result.stderr


async def test_users_and_api_keys_created_by_the_cli_work_on_the_server(
    mongo_url: str, redis_url: str, tmp_path: Path, db_name: str, server: LiveServer,
) -> None:
    # ``server`` empties the store first: nx-27017 0.8 ignores database names, so leads and
    # users left by earlier tests (in any database) would show up here.
    env = cli_env(tmp_path / "cli-data", mongo_url, db_name)

    first = await run_cli_async(env, tmp_path, "users", "create", "--email", "a@b.co",
                                "--password", "longpassword", "--name", "A")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("created admin a@b.co (")

    second = await run_cli_async(env, tmp_path, "users", "create", "--email", "C@B.co",
                                 "--password", "longpassword2")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("created agent c@b.co (")

    key_run = await run_cli_async(env, tmp_path, "api-keys", "create", "--name", "ci")
    assert key_run.returncode == 0, key_run.stderr
    key = key_run.stdout.strip()
    assert key.startswith("lg_")
    assert "\n" not in key

    settings = make_settings(mongo_url, redis_url, tmp_path / "server-data",
                             mongodb_db_name=db_name)
    async with serve(settings) as server, httpx.AsyncClient(
        base_url=server.base_url, timeout=30
    ) as http:
        response = await http.get("/api/v1/leads", headers={"X-API-Key": key})
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0

        wrong = await http.get("/api/v1/leads", headers={"X-API-Key": key + "x"})
        assert wrong.status_code == 401

        login = await http.post("/api/v1/auth/login",
                                json={"email": "a@b.co", "password": "longpassword"})
        assert login.status_code == 200, login.text
        assert login.json()["user"]["name"] == "A"
        me = await gql(http, "{ me { email role } }",
                       headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert me["data"]["me"] == {"email": "a@b.co", "role": "ADMIN"}

        stored = server.runtime.database.client[db_name]
        assert await stored["users"].count_documents({}) == 2
        assert await stored["api_keys"].count_documents({"name": "ci"}) == 1


async def test_cli_errors_are_one_clear_line_and_exit_1(
    mongo_url: str, tmp_path: Path, db_name: str,
) -> None:
    env = cli_env(tmp_path, mongo_url, db_name)
    created = await run_cli_async(env, tmp_path, "users", "create", "--email", "dup@b.co",
                                  "--password", "longpassword")
    assert created.returncode == 0, created.stderr

    duplicate = await run_cli_async(env, tmp_path, "users", "create", "--email", "dup@b.co",
                                    "--password", "longpassword")
    assert duplicate.returncode == 1
    assert duplicate.stdout == ""
    assert duplicate.stderr.strip() == (
        "error: A user with this email or username already exists"
    )

    invalid = await run_cli_async(env, tmp_path, "users", "create", "--email", "nope",
                                  "--password", "short")
    assert invalid.returncode == 1
    assert "Traceback" not in invalid.stderr
    assert invalid.stderr.startswith("error: Validation error:")
    assert "email:" in invalid.stderr
    assert "password: must be at least 8 characters" in invalid.stderr


@pytest.mark.parametrize("args", [("users",), ("api-keys",), ("schema",)])
def test_command_groups_show_their_help(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_cli(cli_env(tmp_path), tmp_path, *args, "--help")
    assert result.returncode == 0, result.stderr
    assert ("create" if args[0] != "schema" else "export") in result.stdout
