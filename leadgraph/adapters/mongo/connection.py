"""Opening the database: client, Beanie initialisation, readiness probe."""

from __future__ import annotations

from collections.abc import Sequence

from beanie import init_beanie
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from pymongo.monitoring import CommandListener

from leadgraph.adapters.mongo.calls import CALL_DOCUMENTS
from leadgraph.adapters.mongo.documents import ALL_DOCUMENTS


class MongoDatabase:
    def __init__(
        self, url: str, db_name: str, server_selection_timeout_ms: int = 5000,
        command_listeners: Sequence[CommandListener] = (),
    ) -> None:
        # tz_aware: datetimes come back as UTC-aware, equal to what we wrote.
        self.client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            url, tz_aware=True, serverSelectionTimeoutMS=server_selection_timeout_ms,
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
