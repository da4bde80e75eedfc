"""Opening the database: client, Beanie initialisation, readiness probe.

PyMongo's "cannot reach a server" errors (``ConnectionFailure`` and its subclasses
``AutoReconnect``, ``ServerSelectionTimeoutError``, ``NetworkTimeout``) are registered here as
domain :class:`~leadgraph.domain.errors.Outage`, so every transport answers them with 503 /
``SERVICE_UNAVAILABLE``. The client itself reconnects once MongoDB is back: no restart.
"""

from __future__ import annotations

from collections.abc import Sequence

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError
from pymongo.monitoring import CommandListener

from leadgraph.adapters.mongo.calls import CALL_DOCUMENTS
from leadgraph.adapters.mongo.documents import ALL_DOCUMENTS
from leadgraph.domain.errors import Outage

Outage.register(ConnectionFailure)


class MongoDatabase:
    def __init__(
        self, url: str, db_name: str, server_selection_timeout_ms: int = 2000,
        command_listeners: Sequence[CommandListener] = (), connect_timeout_ms: int = 5000,
    ) -> None:
        # tz_aware: datetimes come back as UTC-aware, equal to what we wrote. Short selection
        # and connect timeouts: with MongoDB down, a request fails fast (503) instead of
        # hanging for PyMongo's default 30 s.
        self.client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=server_selection_timeout_ms,
            connectTimeoutMS=connect_timeout_ms,
            uuidRepresentation="standard", event_listeners=list(command_listeners),
        )
        self.db_name = db_name

    async def connect(self) -> None:
        await init_beanie(database=self.client[self.db_name],
                          document_models=[*ALL_DOCUMENTS, *CALL_DOCUMENTS])

    async def ping(self) -> bool:
        try:
            await self.client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    async def close(self) -> None:
        await self.client.close()
