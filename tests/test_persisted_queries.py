"""Automatic persisted queries (Apollo's protocol) and safelist mode, on live servers."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import make_settings, serve
from tests.support import API_KEY, GraphQLSocket, LiveServer, gql, wait_for_subscribers
from tests.test_cli import cli_env, run_cli_async


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def fresh_query() -> str:
    """A text no server has seen (the comment changes the hash, not the meaning)."""
    return f"# {uuid.uuid4()}\nquery Count {{ leads {{ totalCount }} }}"


async def get(http: httpx.AsyncClient, **params: Any) -> httpx.Response:
    encoded = {name: json.dumps(value) if isinstance(value, dict) else value
               for name, value in params.items()}
    return await http.get("/graphql", params=encoded)


def code_of(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return str(errors[0]["extensions"]["code"])


# -- APQ --------------------------------------------------------------------------------------


async def test_apq_miss_register_hit_over_post(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    query = fresh_query()
    digest = sha(query)
    miss = await client.post("/graphql", json={"extensions": apq(digest)})
    assert miss.status_code == 200
    assert code_of(miss) == "PERSISTED_QUERY_NOT_FOUND"
    assert miss.json()["errors"][0]["message"] == "PersistedQueryNotFound"

    registered = await client.post("/graphql", json={"query": query, "extensions": apq(digest)})
    assert registered.json()["data"] == {"leads": {"totalCount": 0}}, registered.text

    hit = await client.post("/graphql", json={"extensions": apq(digest.upper())})
    assert hit.json()["data"] == {"leads": {"totalCount": 0}}, hit.text


async def test_apq_miss_register_hit_over_get(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    query = fresh_query()
    digest = sha(query)
    miss = await get(client, extensions=apq(digest))
    assert code_of(miss) == "PERSISTED_QUERY_NOT_FOUND"
    registered = await get(client, query=query, extensions=apq(digest))
    assert registered.json()["data"] == {"leads": {"totalCount": 0}}, registered.text
    hit = await get(client, extensions=apq(digest), operationName="Count")
    assert hit.status_code == 200
    assert hit.json()["data"] == {"leads": {"totalCount": 0}}, hit.text
    # What POST registered, GET finds too (and the other way round): one store.
    other = fresh_query()
    await client.post("/graphql", json={"query": other, "extensions": apq(sha(other))})
    assert (await get(client, extensions=apq(sha(other)))).json()["data"] is not None


async def test_apq_store_is_shared_by_replicas_through_redis(
    server: LiveServer, client: httpx.AsyncClient, mongo_url: str, redis_url: str,
    tmp_path: Path,
) -> None:
    query = fresh_query()
    await client.post("/graphql", json={"query": query, "extensions": apq(sha(query))})
    shared = server.runtime.settings
    other = make_settings(mongo_url, redis_url, tmp_path, mongodb_db_name=server.db_name,
                          redis_channel_prefix=shared.redis_channel_prefix)
    async with serve(other) as replica, httpx.AsyncClient(
        base_url=replica.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        hit = await http.post("/graphql", json={"extensions": apq(sha(query))})
        assert hit.json()["data"] == {"leads": {"totalCount": 0}}, hit.text


async def test_apq_hash_mismatch_and_bad_extensions(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    query = fresh_query()
    wrong = sha(query + " ")
    mismatch = await client.post("/graphql", json={"query": query, "extensions": apq(wrong)})
    assert mismatch.status_code == 400
    assert code_of(mismatch) == "BAD_REQUEST"
    # Nothing was stored under the wrong hash, nor under the right one.
    for digest in (wrong, sha(query)):
        later = await client.post("/graphql", json={"extensions": apq(digest)})
        assert code_of(later) == "PERSISTED_QUERY_NOT_FOUND"

    version = await client.post("/graphql", json={"extensions": {
        "persistedQuery": {"version": 2, "sha256Hash": sha(query)}}})
    assert version.status_code == 400
    assert code_of(version) == "BAD_REQUEST"
    not_hex = await client.post("/graphql", json={"extensions": apq("zz")})
    assert code_of(not_hex) == "BAD_REQUEST"


async def test_apq_mutation_hash_is_refused_over_get(
    server: LiveServer, client: httpx.AsyncClient,
) -> None:
    mutation = f'# {uuid.uuid4()}\nmutation {{ createLead(input: {{email: "m@x.io"}}) {{ id }} }}'
    stored = await client.post("/graphql", json={"query": mutation,
                                                 "extensions": apq(sha(mutation))})
    assert stored.json()["data"]["createLead"]["id"], stored.text
    over_get = await get(client, extensions=apq(sha(mutation)))
    assert over_get.status_code == 400
    assert (await gql(client, "{ leads { totalCount } }"))["data"]["leads"]["totalCount"] == 1


# -- APQ over graphql-transport-ws --------------------------------------------------------------


async def ws_apq(socket: GraphQLSocket, operation_id: str, digest: str,
                 query: str | None = None) -> None:
    payload: dict[str, Any] = {"extensions": apq(digest)}
    if query is not None:
        payload["query"] = query
    await socket.send({"id": operation_id, "type": "subscribe", "payload": payload})


async def ws_error_code(socket: GraphQLSocket, operation_id: str) -> str:
    message = await socket.receive()
    assert (message["id"], message["type"]) == (operation_id, "error"), message
    assert len(message["payload"]) == 1, message
    return str(message["payload"][0]["extensions"]["code"])


async def ws_result(socket: GraphQLSocket, operation_id: str) -> dict[str, Any]:
    """A query's single ``next`` payload, then its ``complete``."""
    payload = await socket.next_data(operation_id)
    done = await socket.receive()
    assert done == {"id": operation_id, "type": "complete"}, done
    return payload


async def test_apq_over_websocket(server: LiveServer, client: httpx.AsyncClient) -> None:
    query = fresh_query()
    digest = sha(query)
    socket = await GraphQLSocket.open(server.ws_url + "/graphql", {"apiKey": API_KEY})
    try:
        # Unknown hash: an error for that id, and the socket stays usable (the id too).
        await ws_apq(socket, "1", digest)
        assert await ws_error_code(socket, "1") == "PERSISTED_QUERY_NOT_FOUND"
        await ws_apq(socket, "1", digest, query)  # text and hash: checked and stored
        assert await ws_result(socket, "1") == {"data": {"leads": {"totalCount": 0}}}
        await ws_apq(socket, "2", digest.upper())  # hash alone now runs the text
        assert await ws_result(socket, "2") == {"data": {"leads": {"totalCount": 0}}}

        # A mismatched hash is refused and stores nothing.
        other = fresh_query()
        await ws_apq(socket, "3", sha(other + " "), other)
        assert await ws_error_code(socket, "3") == "BAD_REQUEST"
        await ws_apq(socket, "4", sha(other))
        assert await ws_error_code(socket, "4") == "PERSISTED_QUERY_NOT_FOUND"

        # One store for both transports: what HTTP registered, the socket finds.
        await client.post("/graphql", json={"query": other, "extensions": apq(sha(other))})
        await ws_apq(socket, "5", sha(other))
        assert await ws_result(socket, "5") == {"data": {"leads": {"totalCount": 0}}}

        # A subscription by hash streams like the same one sent as text.
        subscription = (f"# {uuid.uuid4()}\n"
                        "subscription { leadEvents { type lead { email } } }")
        await ws_apq(socket, "6", sha(subscription), subscription)
        await ws_apq(socket, "7", sha(subscription))
        await wait_for_subscribers(server, "leads", 2)
        created = await gql(client, 'mutation { createLead(input: {email: "ws@x.io"}) { id } }')
        assert created["data"]["createLead"]["id"], created
        events = {}
        for _ in range(2):
            message = await socket.receive()
            assert message["type"] == "next", message
            events[message["id"]] = message["payload"]
        assert events["6"] == events["7"] == {
            "data": {"leadEvents": {"type": "CREATED", "lead": {"email": "ws@x.io"}}}}, events
    finally:
        await socket.close()


# -- safelist ---------------------------------------------------------------------------------

OPERATIONS = """
query LeadCount { leads { totalCount } }

fragment LeadBits on Lead { id email ...More }
fragment More on Lead { name }
fragment Unused on Lead { company }

mutation AddLead($in: LeadInput!) { createLead(input: $in) { ...LeadBits } }
"""


async def test_safelist_runs_only_registered_operations(
    mongo_url: str, redis_url: str, tmp_path: Path,
) -> None:
    db_name = f"lgpq_{uuid.uuid4().hex[:8]}"
    env = cli_env(tmp_path / "cli", mongo_url, db_name)
    source = tmp_path / "operations.graphql"
    source.write_text(OPERATIONS)

    first = await run_cli_async(env, tmp_path, "graphql", "register-operations", str(source))
    assert first.returncode == 0, first.stderr
    lines = first.stdout.strip().splitlines()
    assert lines[-1] == "2 registered, 0 already registered"
    hashes = {line.split()[-1]: line.split()[1] for line in lines[:-1]}
    assert set(hashes) == {"LeadCount", "AddLead"}
    assert all(line.startswith("registered ") for line in lines[:-1])

    again = await run_cli_async(env, tmp_path, "graphql", "register-operations", str(source))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "0 registered, 2 already registered"

    manifest_body = "query Me { me { email } }"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "format": "apollo-persisted-query-manifest", "version": 1,
        "operations": [{"id": sha(manifest_body), "name": "Me", "type": "query",
                        "body": manifest_body}],
    }))
    from_manifest = await run_cli_async(env, tmp_path, "graphql", "register-operations",
                                        str(manifest))
    assert from_manifest.returncode == 0, from_manifest.stderr
    assert f"registered {sha(manifest_body)} query Me" in from_manifest.stdout

    settings = make_settings(mongo_url, redis_url, tmp_path / "server",
                             mongodb_db_name=db_name, graphql_safelist=True)
    async with serve(settings) as server, httpx.AsyncClient(
        base_url=server.base_url, headers={"X-API-Key": API_KEY}, timeout=30
    ) as http:
        await server.runtime.database.client[db_name]["leads"].delete_many({})
        stored = await server.runtime.database.client[db_name]["persisted_operations"].find_one(
            {"_id": hashes["AddLead"]})
        assert stored is not None
        add_lead_text = stored["body"]
        assert "fragment LeadBits" in add_lead_text and "fragment More" in add_lead_text
        assert "Unused" not in add_lead_text

        # Unknown text: refused, and the mutation did not run.
        unknown = await gql(http, 'mutation { createLead(input: {email: "no@x.io"}) { id } }')
        assert unknown["errors"][0]["extensions"]["code"] == "OPERATION_NOT_IN_SAFELIST"
        assert unknown["data"] is None
        assert await server.runtime.database.client[db_name]["leads"].count_documents({}) == 0

        # Registered: by hash (POST and GET) and by exact text.
        by_hash = await http.post("/graphql", json={
            "extensions": apq(hashes["AddLead"]), "variables": {"in": {"email": "a@x.io"}}})
        assert by_hash.json()["data"]["createLead"]["email"] == "a@x.io", by_hash.text
        by_get = await get(http, extensions=apq(hashes["LeadCount"]))
        assert by_get.json()["data"] == {"leads": {"totalCount": 1}}, by_get.text
        by_text = await gql(http, add_lead_text, {"in": {"email": "b@x.io"}})
        assert by_text["data"]["createLead"]["email"] == "b@x.io"
        me = await http.post("/graphql", json={"extensions": apq(sha(manifest_body))})
        assert "me" in me.json()["data"]

        # APQ cannot register new operations; an unknown hash is still "not found".
        new = fresh_query()
        registering = await http.post("/graphql", json={"query": new, "extensions": apq(sha(new))})
        assert code_of(registering) == "OPERATION_NOT_IN_SAFELIST"
        assert code_of(await http.post("/graphql", json={"extensions": apq(sha(new))})) == (
            "PERSISTED_QUERY_NOT_FOUND")

        # Introspection is an operation like any other; GraphiQL is not served.
        introspection = await gql(http, "{ __schema { queryType { name } } }")
        assert introspection["errors"][0]["extensions"]["code"] == "OPERATION_NOT_IN_SAFELIST"
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 404
        assert ide.json() == {"errors": [{"message": "Not Found",
                                          "extensions": {"code": "NOT_FOUND"}}]}

        # WebSocket operations go through the same gate.
        socket = await GraphQLSocket.open(server.ws_url + "/graphql", {"apiKey": API_KEY})
        try:
            await socket.subscribe("1", "subscription { leadEvents { type } }")
            message = await socket.receive()
            assert message["type"] == "error", message
            assert message["payload"][0]["extensions"]["code"] == "OPERATION_NOT_IN_SAFELIST"
            # APQ over the socket: registered hashes run, others are not found, and text
            # plus hash cannot register a new operation.
            await ws_apq(socket, "2", hashes["LeadCount"])
            assert await ws_result(socket, "2") == {"data": {"leads": {"totalCount": 2}}}
            await ws_apq(socket, "3", sha(new))
            assert await ws_error_code(socket, "3") == "PERSISTED_QUERY_NOT_FOUND"
            await ws_apq(socket, "4", sha(new), new)
            assert await ws_error_code(socket, "4") == "OPERATION_NOT_IN_SAFELIST"
        finally:
            await socket.close()
        assert await server.runtime.database.client[db_name]["leads"].count_documents({}) == 2


async def test_register_operations_rejects_bad_files(
    mongo_url: str, tmp_path: Path,
) -> None:
    env = cli_env(tmp_path / "cli", mongo_url, f"lgpq_{uuid.uuid4().hex[:8]}")
    cases = {
        "typo.graphql": "query Bad { leads { nope } }",
        "anonymous.graphql": "query A { me { id } }\n{ me { email } }",
        "missing.graphql": "query A { me { ...Gone } }",
        "wrong-id.json": json.dumps({"0" * 64: "query X { me { id } }"}),
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        result = await run_cli_async(env, tmp_path, "graphql", "register-operations", str(path))
        assert result.returncode == 1, (name, result.stdout)
        assert result.stderr.startswith("error: "), (name, result.stderr)
        assert "Traceback" not in result.stderr
