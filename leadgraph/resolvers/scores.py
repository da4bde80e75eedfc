"""Lead scores: recomputed from stored facts, asynchronously, on every relevant event.

Writers call ``request_refresh(lead_id)``; a background worker coalesces requests per lead
and recomputes from what is stored (messages, activities, calls), so a refresh is idempotent
and repeated requests cost one computation. A change is kept in ``score_history``, and a
move larger than the model's threshold publishes ``lead.score_changed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace

from leadgraph.domain.calls import CallRepository
from leadgraph.domain.errors import NotFound
from leadgraph.domain.events import LEAD_SCORE_CHANGED, LEADS_CHANNEL, DomainEvent
from leadgraph.domain.leads import Lead, LeadScore
from leadgraph.domain.ports import (
    ActivityRepository,
    Clock,
    ConversationRepository,
    EventBroker,
    LeadRepository,
    MessageRepository,
    ScoreHistoryRepository,
)
from leadgraph.domain.scoring import LeadSignals, ScoreHistoryEntry, score_lead, score_moved
from leadgraph.domain.users import Principal

log = logging.getLogger(__name__)


class ScoreUseCases:
    def __init__(
        self, leads: LeadRepository, conversations: ConversationRepository,
        messages: MessageRepository, activities: ActivityRepository,
        history: ScoreHistoryRepository, broker: EventBroker, clock: Clock,
        calls: CallRepository | None = None,
    ) -> None:
        self._calls = calls
        self._leads = leads
        self._conversations = conversations
        self._messages = messages
        self._activities = activities
        self._history = history
        self._broker = broker
        self._clock = clock
        self._pending: dict[str, str] = {}
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    # -- background refresh ---------------------------------------------------------------

    def request_refresh(self, lead_id: str, trigger: str) -> None:
        """Non-blocking: the worker recomputes soon; many requests for a lead coalesce."""
        self._pending.setdefault(lead_id, trigger)
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="score-refresher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    async def settled(self) -> None:
        """Wait until every requested refresh is done (used by the CLI and shutdown)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                lead_id, trigger = next(iter(self._pending.items()))
                del self._pending[lead_id]
                try:
                    await self.refresh(lead_id, trigger)
                except NotFound:
                    pass  # deleted meanwhile
                except Exception:
                    log.exception("score refresh failed for lead %s", lead_id)
            self._idle.set()

    # -- computing ------------------------------------------------------------------------

    async def refresh(self, lead_id: str, trigger: str) -> Lead:
        lead = await self._leads.get(lead_id)
        if lead is None:
            raise NotFound("Lead", lead_id)
        now = self._clock.now()
        score = score_lead(lead, now, await self.signals(lead))
        if _same(lead.score, score):
            return lead
        updated = await self._leads.set_score(lead.id, score)
        if updated is None:
            raise NotFound("Lead", lead_id)
        await self._history.insert(ScoreHistoryEntry.of(lead.id, score, trigger, now))
        if score_moved(lead.score, score):
            await self._broker.publish(DomainEvent(
                type=LEAD_SCORE_CHANGED, channel=LEADS_CHANNEL,
                data={"lead": updated.model_dump(mode="json"), "changed": ["score"],
                      "previous_score": lead.score.overall_score,
                      "score": score.overall_score, "trigger": trigger},
            ))
        return updated

    async def signals(self, lead: Lead) -> LeadSignals:
        conversations = await self._conversations.for_leads([lead.id])
        stats = await self._messages.stats_for([c.id for c in conversations])
        activities = await self._activities.count_by_type(lead.id)
        chat_intents = [c.purchase_intent for c in conversations]
        latest = [moment for moment in (stats.last_message_at,) if moment is not None]
        recent_activity = await self._activities.for_lead(lead.id, 0, 1)
        latest += [a.created_at for a in recent_activity]
        signals = LeadSignals(
            user_messages=stats.user_messages,
            assistant_messages=stats.assistant_messages,
            conversations=len(conversations),
            activities=activities,
            chat_intent=max(chat_intents, key=_intent_rank) if chat_intents else None,
            last_interaction_at=max(latest) if latest else None,
        )
        return await self._with_calls(lead, signals)

    async def _with_calls(self, lead: Lead, signals: LeadSignals) -> LeadSignals:
        """What the lead's finished voice calls add: count, sentiment, interest, objections."""
        if self._calls is None:
            return signals
        stats = await self._calls.stats_for_lead(lead.id)
        if not stats.calls:
            return signals
        moments = [m for m in (signals.last_interaction_at, stats.last_call_at) if m is not None]
        return replace(
            signals, calls=stats.calls, call_sentiment=stats.avg_sentiment,
            interest_signals=tuple(stats.interest_signals), objections=tuple(stats.objections),
            last_interaction_at=max(moments) if moments else None,
        )

    async def history(
        self, actor: Principal, lead_id: str, limit: int = 50
    ) -> list[ScoreHistoryEntry]:
        return await self._history.for_lead(lead_id, limit)


def _intent_rank(intent: object) -> int:
    order = ["COLD", "NEUTRAL", "WARM", "HOT"]
    value = getattr(intent, "value", str(intent))
    return order.index(value) if value in order else 0


def _same(previous: LeadScore, current: LeadScore) -> bool:
    """Equal but for when it was computed: nothing to store."""
    keep = {"computed_at"}
    return previous.model_dump(exclude=keep) == current.model_dump(exclude=keep)
