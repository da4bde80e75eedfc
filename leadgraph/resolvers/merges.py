"""Duplicates and merges: find likely duplicates, merge them, and undo a merge exactly."""

from __future__ import annotations

from dataclasses import dataclass

from leadgraph.domain.activities import LEADS_MERGED
from leadgraph.domain.errors import Conflict, NotFound
from leadgraph.domain.events import LEAD_DELETED, LEAD_UPDATED, LEADS_CHANNEL, DomainEvent
from leadgraph.domain.leads import Lead, LeadFields
from leadgraph.domain.merges import (
    DUPLICATE_THRESHOLD,
    DuplicateMatch,
    MergeRecord,
    check_mergeable,
    duplicate_likelihood,
    merged_fields,
)
from leadgraph.domain.ports import (
    ActivityRepository,
    Clock,
    ConversationRepository,
    EventBroker,
    LeadRepository,
    MergeRepository,
)
from leadgraph.domain.users import Principal
from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.scores import ScoreUseCases

CANDIDATE_LIMIT = 50


@dataclass(frozen=True)
class MergeOutcome:
    lead: Lead
    record: MergeRecord


@dataclass(frozen=True)
class UnmergeOutcome:
    primary: Lead
    restored: Lead
    record: MergeRecord


class MergeUseCases:
    def __init__(
        self, leads: LeadRepository, conversations: ConversationRepository,
        activity_records: ActivityRepository, merges: MergeRepository,
        activities: ActivityUseCases, scores: ScoreUseCases, broker: EventBroker, clock: Clock,
    ) -> None:
        self._leads = leads
        self._conversations = conversations
        self._activity_records = activity_records
        self._merges = merges
        self._activities = activities
        self._scores = scores
        self._broker = broker
        self._clock = clock

    async def possible_duplicates(self, actor: Principal, lead: Lead) -> list[DuplicateMatch]:
        matches = []
        for candidate in await self._leads.candidates(lead, CANDIDATE_LIMIT):
            likelihood, reasons = duplicate_likelihood(lead, candidate)
            if likelihood >= DUPLICATE_THRESHOLD:
                matches.append(DuplicateMatch(lead_id=candidate.id, likelihood=likelihood,
                                              reasons=reasons))
        return sorted(matches, key=lambda match: (-match.likelihood, match.lead_id))

    async def merge(self, actor: Principal, primary_id: str, duplicate_id: str) -> MergeOutcome:
        """Fold the duplicate into the primary; its conversations and timeline move along."""
        check_mergeable(primary_id, duplicate_id)
        primary = await self._get(primary_id)
        duplicate = await self._get(duplicate_id)
        now = self._clock.now()
        fields = merged_fields(primary, duplicate, now)
        # The duplicate goes first: the primary may take over its email or phone.
        if not await self._leads.delete(duplicate.id):
            raise NotFound("Lead", duplicate_id)
        moved_conversations = await self._conversations.reassign_lead(duplicate.id, primary.id)
        moved_activities = await self._activity_records.reassign(duplicate.id, primary.id)
        lead = await self._leads.replace(primary.id, fields)
        if lead is None:
            raise NotFound("Lead", primary_id)
        record = await self._merges.insert(MergeRecord(
            primary_id=primary.id, duplicate_id=duplicate.id,
            primary_before=primary.model_dump(mode="json"),
            duplicate_before=duplicate.model_dump(mode="json"),
            moved_conversations=moved_conversations, moved_activities=moved_activities,
            actor=actor.id, merged_at=now,
        ))
        await self._activities.record(
            lead.id, LEADS_MERGED, f"Merged {duplicate.name or duplicate.id} into this lead",
            {"merge_id": record.id, "duplicate_id": duplicate.id}, actor=actor.id,
        )
        await self._publish(LEAD_DELETED, duplicate, [])
        await self._publish(LEAD_UPDATED, lead, ["merged"])
        return MergeOutcome(lead=lead, record=record)

    async def unmerge(self, actor: Principal, merge_id: str) -> UnmergeOutcome:
        """Bring the duplicate back with its id, and return what moved to where it was."""
        record = await self._merges.get(merge_id)
        if record is None or record.id is None:
            raise NotFound("Merge", merge_id)
        if not await self._merges.mark_undone(record.id, self._clock.now()):
            raise Conflict("This merge was already undone")
        restored = await self._leads.restore(Lead.model_validate(record.duplicate_before))
        await self._conversations.set_lead(record.moved_conversations, restored.id)
        await self._activity_records.move_back(record.moved_activities, restored.id)
        before = Lead.model_validate(record.primary_before)
        primary = await self._leads.replace(
            record.primary_id, LeadFields.model_validate(before.model_dump(exclude={"id"}))
        )
        if primary is None:
            raise NotFound("Lead", record.primary_id)
        for lead in (primary, restored):
            self._scores.request_refresh(lead.id, "unmerged")
        await self._publish(LEAD_UPDATED, primary, ["unmerged"])
        await self._publish(LEAD_UPDATED, restored, ["restored"])
        undone = record.model_copy(update={"undone_at": self._clock.now()})
        return UnmergeOutcome(primary=primary, restored=restored, record=undone)

    async def _get(self, lead_id: str) -> Lead:
        lead = await self._leads.get(lead_id)
        if lead is None:
            raise NotFound("Lead", lead_id)
        return lead

    async def _publish(self, event_type: str, lead: Lead, changed: list[str]) -> None:
        await self._broker.publish(DomainEvent(
            type=event_type, channel=LEADS_CHANNEL,
            data={"lead": lead.model_dump(mode="json"), "changed": changed},
        ))
