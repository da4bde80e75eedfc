"""Lead use cases: create (with de-duplication), read, list, update, delete, and events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from leadgraph.domain.activities import LEAD_ASSIGNED, STATUS_CHANGED
from leadgraph.domain.errors import Conflict, NotFound, ValidationFailed
from leadgraph.domain.events import (
    LEAD_CREATED,
    LEAD_DELETED,
    LEAD_UPDATED,
    LEADS_CHANNEL,
    DomainEvent,
)
from leadgraph.domain.leads import (
    Lead,
    LeadFields,
    LeadFilter,
    LeadInput,
    LeadOrder,
    apply_update,
    merge_duplicate,
    new_lead_fields,
)
from leadgraph.domain.pagination import Page, PageRequest, Window
from leadgraph.domain.ports import (
    Clock,
    EventBroker,
    EventJournal,
    LeadRepository,
    UserRepository,
)
from leadgraph.domain.scoring import score_lead
from leadgraph.domain.users import Principal
from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.lead_events import gapless_events
from leadgraph.resolvers.scores import ScoreUseCases


@dataclass(frozen=True)
class LeadWrite:
    """Outcome of a create: ``created`` is False when an existing lead was enriched instead."""

    lead: Lead
    created: bool

    @property
    def deduplicated(self) -> bool:
        return not self.created


class LeadUseCases:
    def __init__(
        self, leads: LeadRepository, users: UserRepository, broker: EventBroker, clock: Clock,
        activities: ActivityUseCases, scores: ScoreUseCases, *,
        journal: EventJournal | None = None, hole_grace_seconds: float = 5.0,
    ) -> None:
        """``broker`` should journal lead events (``JournaledBroker`` on ``journal``) when a
        ``journal`` is given: ``events`` then replays and numbers them."""
        self._journal = journal
        self._hole_grace_seconds = hole_grace_seconds
        self._leads = leads
        self._users = users
        self._broker = broker
        self._clock = clock
        self._activities = activities
        self._scores = scores

    async def create(self, actor: Principal, data: Mapping[str, Any]) -> LeadWrite:
        """Create a lead, or update the one that already has this email or phone."""
        payload = LeadInput.parse(data)
        await self._check_assignee(payload)
        now = self._clock.now()
        existing = await self._leads.find_duplicate(payload.email, payload.phone)
        if existing is not None:
            change = merge_duplicate(existing, payload, now)
            lead = await self._store_change(existing, change.fields, change.changed)
            return LeadWrite(lead=lead, created=False)
        fields = new_lead_fields(payload, now)
        fields.score = score_lead(fields, now)  # what the record alone says, until refreshed
        lead = await self._leads.insert(fields)
        await self._publish(LEAD_CREATED, lead, changed=[])
        self._scores.request_refresh(lead.id, "created")
        return LeadWrite(lead=lead, created=True)

    async def update(self, actor: Principal, lead_id: str, data: Mapping[str, Any]) -> Lead:
        payload = LeadInput.parse(data)
        await self._check_assignee(payload)
        current = await self.get(actor, lead_id)
        change = apply_update(current, payload, self._clock.now())
        await self._check_contact_unique(current, change.fields)
        return await self._store_change(current, change.fields, change.changed)

    async def delete(self, actor: Principal, lead_id: str) -> Lead:
        lead = await self.get(actor, lead_id)
        if not await self._leads.delete(lead_id):
            raise NotFound("Lead", lead_id)
        await self._publish(LEAD_DELETED, lead, changed=[])
        return lead

    async def find(self, actor: Principal, lead_id: str) -> Lead | None:
        return await self._leads.get(lead_id)

    async def get(self, actor: Principal, lead_id: str) -> Lead:
        lead = await self._leads.get(lead_id)
        if lead is None:
            raise NotFound("Lead", lead_id)
        return lead

    async def load_many(self, lead_ids: Sequence[str]) -> list[Lead | None]:
        """Batch read in the order asked, ``None`` where missing (the DataLoader contract)."""
        found = {lead.id: lead for lead in await self._leads.get_many(lead_ids)}
        return [found.get(lead_id) for lead_id in lead_ids]

    async def search(
        self, actor: Principal, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Page[Lead]:
        return await self._leads.search(lead_filter, order, page)

    async def window(
        self, actor: Principal, lead_filter: LeadFilter, order: LeadOrder, page: PageRequest
    ) -> Window[Lead]:
        """A page without a total (one query): enough to know whether more follow."""
        return await self._leads.window(lead_filter, order, page)

    async def count(self, actor: Principal, lead_filter: LeadFilter) -> int:
        return await self._leads.count(lead_filter)

    async def events(
        self, actor: Principal, after_seq: int | None = None
    ) -> AsyncIterator[DomainEvent]:
        """Every lead event from now on, or (``after_seq``) every one after that ``seq``
        first: in ``seq`` order, each once, across Redis restarts (see ``lead_events``)."""
        if after_seq is not None and after_seq < 0:
            raise ValidationFailed.single("afterSeq", "must be 0 or more")
        if self._journal is not None:
            async with aclosing(gapless_events(
                self._broker, self._journal, LEADS_CHANNEL, after_seq,
                hole_grace_seconds=self._hole_grace_seconds,
            )) as events:
                async for event in events:
                    yield event
            return
        subscription = self._broker.subscribe(LEADS_CHANNEL)
        try:
            async for event in subscription:
                yield event
        finally:
            await subscription.aclose()

    async def _store_change(self, current: Lead, fields: LeadFields, changed: list[str]) -> Lead:
        """Store, publish, put it on the timeline; the score follows asynchronously."""
        if not changed:
            return current
        lead = await self._leads.replace(current.id, fields)
        if lead is None:
            raise NotFound("Lead", current.id)
        await self._publish(LEAD_UPDATED, lead, changed=changed)
        if "status" in changed:
            await self._activities.record(
                lead.id, STATUS_CHANGED,
                f"Status changed from {current.status.value} to {lead.status.value}",
                {"from": current.status.value, "to": lead.status.value},
            )
        if "assigned_to" in changed:
            await self._activities.record(
                lead.id, LEAD_ASSIGNED, "Lead assigned",
                {"from": current.assigned_to, "to": lead.assigned_to},
            )
        self._scores.request_refresh(lead.id, "updated:" + ",".join(changed))
        return lead

    async def _check_assignee(self, payload: LeadInput) -> None:
        if payload.assigned_to and await self._users.get(payload.assigned_to) is None:
            raise ValidationFailed.single("assigned_to", "No user with this id")

    async def _check_contact_unique(self, current: Lead, fields: LeadFields) -> None:
        """An update must not give a lead the email/phone of another (that is a merge)."""
        email = fields.email if fields.email != current.email else None
        phone = fields.phone if fields.phone != current.phone else None
        if email is None and phone is None:
            return
        other = await self._leads.find_duplicate(email, phone)
        if other is not None and other.id != current.id:
            raise Conflict(f"Lead {other.id} already has this email or phone")

    async def _publish(self, event_type: str, lead: Lead, changed: list[str]) -> None:
        await self._broker.publish(
            DomainEvent(
                type=event_type,
                channel=LEADS_CHANNEL,
                data={"lead": lead.model_dump(mode="json"), "changed": changed},
            )
        )
