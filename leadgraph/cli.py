"""The ``leadgraph`` command: serve, schema export, users and API keys."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn

from leadgraph.adapters.mongo.embedded import EmbeddedMongo
from leadgraph.domain.errors import DomainError
from leadgraph.domain.imports import ImportJob, ImportStatus
from leadgraph.domain.users import ApiKeyTier, Principal, PrincipalKind, Role
from leadgraph.runtime import Runtime, open_runtime
from leadgraph.settings import Settings

app = typer.Typer(help="LeadGraph: GraphQL-first backend for AI-assisted lead capture.",
                  no_args_is_help=True)
schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
users_app = typer.Typer(help="Users.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="api-keys")

CLI_PRINCIPAL = Principal(
    kind=PrincipalKind.API_KEY, id="cli", display_name="leadgraph cli", role=Role.ADMIN
)
T = TypeVar("T")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve GraphQL (http://HOST:PORT/graphql) and the REST dialects."""
    settings = Settings()
    settings.resolved_secret_key()  # generate it once, before workers race for it
    if workers > 1 and not settings.redis_url:
        typer.echo("warning: with several workers and no REDIS_URL, a subscriber only sees "
                   "writes made by its own worker; set REDIS_URL to share events.", err=True)
    embedded: EmbeddedMongo | None = None
    if settings.embedded_mongo:
        # One embedded database for all workers: started here, handed down by URL.
        embedded = EmbeddedMongo(settings.leadgraph_data_dir)
        os.environ["MONGODB_URL"] = embedded.start()
        typer.echo(f"embedded MongoDB (nx-27017) at {embedded.url}, data in {embedded.db_file}")
    # uvicorn re-raises SIGTERM after its graceful shutdown; turn that into a normal exit so
    # the ``finally`` below stops the embedded database.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(
            "leadgraph.app:create_app", factory=True, host=host, port=port, workers=workers,
            log_level=log_level, ws="websockets-sansio", proxy_headers=True,
            ws_max_size=settings.ws_max_message_bytes,  # larger frames: close 1009
        )
    finally:
        if embedded is not None:
            embedded.stop()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@schema_app.command("export")
def schema_export() -> None:
    """Print the GraphQL schema (SDL)."""
    from leadgraph.app import schema_options
    from leadgraph.schema import build_schema

    typer.echo(build_schema(schema_options(Settings())).as_str())


def _with_runtime(action: Callable[[Runtime], Awaitable[T]]) -> T:
    async def run() -> T:
        async with open_runtime(Settings()) as runtime:
            return await action(runtime)

    try:
        return asyncio.run(run())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(prompt=True)],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          confirmation_prompt=True)],
    name: Annotated[str, typer.Option()] = "",
    username: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[
        bool | None,
        typer.Option("--admin/--agent", help="Default: admin for the first user, else agent."),
    ] = None,
) -> None:
    """Create a user (unless told otherwise, the first user of an installation is the admin)."""

    async def action(runtime: Runtime) -> str:
        user = await runtime.use_cases.users.create(
            CLI_PRINCIPAL, email=email, password=password, name=name, username=username,
            admin=admin,
        )
        return f"created {user.role.value} {user.email} ({user.id})"

    typer.echo(_with_runtime(action))


@keys_app.command("create")
def api_keys_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "api key",
    tier: Annotated[ApiKeyTier, typer.Option()] = ApiKeyTier.STANDARD,
) -> None:
    """Create an API key and print it. It is shown only this once."""

    async def action(runtime: Runtime) -> str:
        _, secret = await runtime.use_cases.auth.create_api_key(CLI_PRINCIPAL, name, tier)
        return secret

    typer.echo(_with_runtime(action))


leads_app = typer.Typer(help="Leads: bulk import.", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
_FILE_CHUNK = 64 * 1024


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as source:
        while chunk := await asyncio.to_thread(source.read, _FILE_CHUNK):
            yield chunk


@leads_app.command("import")
def leads_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="A CSV file with a header row.")],
    show_errors: Annotated[int, typer.Option(min=0, help="Row errors to print.")] = 20,
) -> None:
    """Import leads from a CSV file, as POST /api/v1/leads/import does, with a progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    async def action(runtime: Runtime) -> ImportJob:
        imports = runtime.use_cases.imports
        job = await imports.start(CLI_PRINCIPAL, file.name, _file_chunks(file), "text/csv")
        columns = (TextColumn("importing {task.description}"), BarColumn(),
                   MofNCompleteColumn())
        with Progress(*columns, console=Console(stderr=True)) as progress:
            bar = progress.add_task(file.name, total=None)
            async for current in imports.watch(CLI_PRINCIPAL, job.id):
                progress.update(bar, total=current.total_rows, completed=current.processed_rows)
        return await imports.wait(CLI_PRINCIPAL, job.id)

    job = _with_runtime(action)
    typer.echo(f"{job.status.value}: {job.created} created, {job.updated} updated, "
               f"{job.failed_rows} failed, {job.processed_rows} of {job.total_rows} rows "
               f"(job {job.id})")
    for error in job.errors[:show_errors]:
        typer.echo(f"  row {error.row}: {error.field}: {error.message}")
    if job.error_count > min(show_errors, len(job.errors)):
        typer.echo(f"  ... and {job.error_count - min(show_errors, len(job.errors))} more errors")
    if job.status is ImportStatus.FAILED:
        typer.echo(f"error: {job.message}", err=True)
        raise typer.Exit(1)


graphql_app = typer.Typer(help="GraphQL: persisted operations (safelist).", no_args_is_help=True)
app.add_typer(graphql_app, name="graphql")


@graphql_app.command("register-operations")
def graphql_register_operations(
    file: Annotated[Path, typer.Argument(
        exists=True, dir_okay=False, readable=True,
        help="A .graphql file of named operations (each with the fragments it uses becomes "
             "one document), or a JSON manifest: Apollo's persisted query manifest or a "
             "{sha256: query} map.")],
) -> None:
    """Register operations for GRAPHQL_SAFELIST=1 (idempotent: known ones are kept)."""
    from leadgraph.app import schema_options
    from leadgraph.domain.errors import ValidationFailed
    from leadgraph.domain.persisted_queries import operations_from_manifest
    from leadgraph.schema import build_schema
    from leadgraph.schema.persisted import check_against_schema, operations_from_document

    settings = Settings()
    schema = build_schema(schema_options(settings))._schema
    try:
        text = file.read_text(encoding="utf-8")
        if file.suffix.lower() not in (".graphql", ".gql") and _looks_like_json(text):
            operations = operations_from_manifest(text)
            for operation in operations:
                check_against_schema(operation.body, schema, operation.name or operation.hash)
        else:
            operations = operations_from_document(text, schema)
    except (ValidationFailed, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, ValidationFailed) else str(exc)
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None

    async def action(runtime: Runtime) -> list[str]:
        persisted = runtime.use_cases.persisted_queries
        assert persisted is not None
        outcome = await persisted.register(CLI_PRINCIPAL, operations)
        lines = [f"{'registered' if new else 'already registered'} {op.hash} "
                 f"{op.type or 'operation'} {op.name or '(unnamed)'}" for op, new in outcome]
        added = sum(1 for _, new in outcome if new)
        lines.append(f"{added} registered, {len(outcome) - added} already registered")
        return lines

    for line in _with_runtime(action):
        typer.echo(line)


def _looks_like_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
