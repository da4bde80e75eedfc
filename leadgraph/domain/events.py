"""Domain events: facts published after the write that caused them is stored."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LEAD_CREATED = "lead.created"
LEAD_UPDATED = "lead.updated"
LEAD_DELETED = "lead.deleted"
LEAD_SCORE_CHANGED = "lead.score_changed"

LEADS_CHANNEL = "leads"

# Delivered only to subscriptions opened with ``resync=True``: the broker's link to the other
# replicas was lost and is back, so events may have been missed. Sequence-numbered streams
# (conversation messages, call transcripts) then replay from the store after the last ``seq``
# they delivered, so their clients lose nothing across a Redis restart.
STREAM_RESYNC = "stream.resync"


@dataclass(frozen=True)
class DomainEvent:
    """A JSON-safe fact. ``channel`` groups events for subscribers (one topic per stream)."""

    type: str
    channel: str
    data: dict[str, Any]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Position in a durable journal (lead events): strictly increasing across replicas, so a
    # subscriber can dedupe, spot gaps and replay. ``None`` for events that are not journaled.
    seq: int | None = None

    def to_message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "channel": self.channel,
            "data": self.data,
            "at": self.at.isoformat(),
        }
        if self.seq is not None:
            message["seq"] = self.seq
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DomainEvent:
        return cls(
            type=str(message["type"]),
            channel=str(message["channel"]),
            data=dict(message["data"]),
            at=datetime.fromisoformat(str(message["at"])),
            id=str(message["id"]),
            seq=int(message["seq"]) if message.get("seq") is not None else None,
        )
