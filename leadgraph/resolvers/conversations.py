"""Conversation use cases: start, send a message (the assistant's turn), read, replay, stream.

Every chat transport (GraphQL, seeds 000/001/003/004, seed 003's WebSocket, channel webhooks)
sends messages through ``send_message``: one lock, one sequence, one store-then-publish path.
"""

from __future__ import annotations

import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any

from leadgraph.domain.activities import MESSAGE_RECEIVED
from leadgraph.domain.assistant.policy import requirements_summary
from leadgraph.domain.contacts import normalize_email, normalize_phone
from leadgraph.domain.conversations import (
    Channel,
    Conversation,
    ConversationFields,
    ConversationFilter,
    ConversationStatus,
    Message,
    MessageAnalysis,
    MessageFields,
    MessageRole,
    clean_message_text,
)
from leadgraph.domain.errors import DomainError, NotFound, ValidationFailed
from leadgraph.domain.events import STREAM_RESYNC, DomainEvent
from leadgraph.domain.leads import FollowUpStatus, Lead, LeadIntent
from leadgraph.domain.pagination import Page, PageRequest
from leadgraph.domain.ports import (
    AssistantEngine,
    Clock,
    ConversationLock,
    ConversationRepository,
    EventBroker,
    EventSubscription,
    MessageRepository,
)
from leadgraph.domain.users import Principal, PrincipalKind, Role
from leadgraph.resolvers.activities import ActivityUseCases
from leadgraph.resolvers.leads import LeadUseCases

log = logging.getLogger(__name__)

CONVERSATIONS_CHANNEL = "conversations"
CONVERSATION_STARTED = "conversation.started"
CONVERSATION_MESSAGE = "conversation.message"
CONVERSATION_RESOLVED = "conversation.resolved"
MESSAGE_ADDED = "message.added"
REPLAY_BATCH = 500

# Who captures leads from anonymous chats (seed 001's public widget).
ASSISTANT_PRINCIPAL = Principal(
    kind=PrincipalKind.API_KEY, id="assistant", display_name="assistant", role=Role.AGENT
)


def visitor_details(visitor: Mapping[str, object]) -> dict[str, str]:
    """Validated name/email/phone a client sent along with a message."""
    details: dict[str, str] = {}
    for key, normalize in (("email", normalize_email), ("phone", normalize_phone)):
        value = visitor.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            raise ValidationFailed.single(f"user_info.{key}", "must be a string")
        details[key] = normalize(value, f"user_info.{key}")
    name = visitor.get("name")
    if isinstance(name, str) and name.strip():
        details["name"] = name.strip()[:200]
    elif name is not None and not isinstance(name, str):
        raise ValidationFailed.single("user_info.name", "must be a string")
    return details


def message_channel(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


# Picks the engine that answers one conversation (e.g. its chatbot's deployed model).
AssistantSelector = Callable[[Conversation], Awaitable[AssistantEngine]]


@dataclass(frozen=True)
class ChatTurn:
    """One exchange: the stored visitor message, the stored reply and where things stand."""

    user_message: Message
    reply: Message
    analysis: MessageAnalysis
    conversation: Conversation
    lead: Lead | None
    engine: str
    replayed: bool = False  # the turn had finished before (found by the message's external id)

    @property
    def needs_follow_up(self) -> bool:
        """Someone should get back to this visitor: a lead exists or they are warm or hot."""
        return self.lead is not None or self.conversation.purchase_intent in (
            LeadIntent.HOT, LeadIntent.WARM
        )


class ConversationUseCases:
    def __init__(
        self, conversations: ConversationRepository, messages: MessageRepository,
        leads: LeadUseCases, assistant: AssistantEngine, lock: ConversationLock,
        broker: EventBroker, clock: Clock, activities: ActivityUseCases,
        selector: AssistantSelector | None = None,
    ) -> None:
        self._selector = selector
        self._activities = activities
        self._conversations = conversations
        self._messages = messages
        self._leads = leads
        self._assistant = assistant
        self._lock = lock
        self._broker = broker
        self._clock = clock

    # -- lifecycle ------------------------------------------------------------------------

    async def start(
        self, actor: Principal | None, *, channel: Channel = Channel.API,
        external_id: str | None = None, lead_id: str | None = None,
        chatbot_id: str | None = None,
    ) -> Conversation:
        if lead_id is not None:
            await self._leads.get(actor or ASSISTANT_PRINCIPAL, lead_id)
        now = self._clock.now()
        user_id = actor.id if actor is not None and actor.kind is PrincipalKind.USER else None
        conversation = await self._conversations.insert(ConversationFields(
            channel=channel, external_id=external_id, user_id=user_id, lead_id=lead_id,
            chatbot_id=chatbot_id, created_at=now, last_active=now,
        ))
        await self._publish_conversation(CONVERSATION_STARTED, conversation)
        return conversation

    async def open_session(
        self, actor: Principal | None, external_id: str, channel: Channel
    ) -> Conversation:
        """The conversation a client identifies by its own id (seed 000 session, 001 user)."""
        existing = await self._conversations.find_by_external_id(external_id, channel)
        if existing is not None:
            return existing
        return await self.start(actor, channel=channel, external_id=external_id)

    async def get(self, actor: Principal | None, conversation_id: str) -> Conversation:
        conversation = await self._conversations.get(conversation_id)
        if conversation is None:
            raise NotFound("Conversation", conversation_id)
        return conversation

    async def find_session(self, actor: Principal | None, session_id: str) -> Conversation:
        """Seed 000 addresses sessions by the client's ``session_id``; our id works too."""
        found = await self._conversations.find_by_external_id(session_id)
        if found is None:
            found = await self._conversations.get(session_id)
        if found is None:
            raise NotFound("Session", session_id)
        return found

    async def delete(self, actor: Principal | None, conversation_id: str) -> Conversation:
        conversation = await self.get(actor, conversation_id)
        async with self._lock.hold(conversation.id):
            await self._messages.delete_for(conversation.id)
            await self._conversations.delete(conversation.id)
        await self._publish_conversation(CONVERSATION_RESOLVED, conversation)
        return conversation

    async def search(
        self, actor: Principal, conversation_filter: ConversationFilter, page: PageRequest
    ) -> Page[Conversation]:
        return await self._conversations.search(conversation_filter, page)

    async def load_many(self, conversation_ids: Sequence[str]) -> list[Conversation | None]:
        found = {c.id: c for c in await self._conversations.get_many(conversation_ids)}
        return [found.get(conversation_id) for conversation_id in conversation_ids]

    async def load_for_leads(self, lead_ids: Sequence[str]) -> list[list[Conversation]]:
        """Conversations of each lead, batched (the ``conversations_by_lead_id`` loader)."""
        grouped: dict[str, list[Conversation]] = {lead_id: [] for lead_id in lead_ids}
        for conversation in await self._conversations.for_leads(lead_ids):
            if conversation.lead_id in grouped:
                grouped[conversation.lead_id].append(conversation)
        return [grouped[lead_id] for lead_id in lead_ids]

    async def last_messages_for_leads(self, lead_ids: Sequence[str]) -> list[Message | None]:
        """The newest message of any conversation of each lead, batched (the
        ``last_message_by_lead_id`` loader): two queries for a whole page, whatever its size,
        and only conversation ids are read, not whole conversations."""
        lead_of = dict(await self._conversations.ids_for_leads(lead_ids))
        newest: dict[str, Message] = {}
        for message in await self._messages.latest_of(list(lead_of)) if lead_of else []:
            lead_id = lead_of[message.conversation_id]
            known = newest.get(lead_id)
            if known is None or (message.timestamp, message.seq) > (known.timestamp, known.seq):
                newest[lead_id] = message
        return [newest.get(lead_id) for lead_id in lead_ids]

    # -- messages -------------------------------------------------------------------------

    async def send_message(
        self, actor: Principal | None, conversation_id: str, text: object,
        *, sender: str | None = None, field_name: str = "message",
        visitor: Mapping[str, object] | None = None, external_id: str | None = None,
    ) -> ChatTurn:
        """Store the visitor's message, let the assistant answer, capture the lead.

        ``visitor`` is what the client already knows about the person (seed 000's
        ``user_info``: name, email, phone); it fills the same slots the assistant asks for.

        ``external_id`` (a channel provider's message id) makes the turn resumable: when a
        message with that id is already stored, it is not stored again; if its reply is
        missing (the process died during the assistant's turn) the turn is finished now, and
        if the reply exists the stored turn is returned with ``replayed`` set and nothing is
        published again.
        """
        content = clean_message_text(text, field_name)
        known = visitor_details(visitor or {})
        await self.get(actor, conversation_id)
        async with self._lock.hold(conversation_id):
            conversation = await self.get(actor, conversation_id)
            if known:
                info = conversation.collected_info.model_copy(update=known)
                conversation = conversation.model_copy(update={"collected_info": info})
            stored = (await self._messages.find_by_external_id(conversation.id, external_id)
                      if external_id is not None else None)
            if stored is not None:
                done = await self._messages.find_reply(conversation.id, stored.id)
                if done is not None and stored.analysis is not None:
                    lead = (await self._leads.find(ASSISTANT_PRINCIPAL, conversation.lead_id)
                            if conversation.lead_id is not None else None)
                    return ChatTurn(stored, done, stored.analysis, conversation, lead,
                                    done.sender or "assistant", replayed=True)
                user_message, content = stored, stored.content
            else:
                user_message = await self._store(conversation.id, MessageRole.USER, content,
                                                 sender, external_id=external_id)
            engine = self._assistant if self._selector is None else await self._selector(
                conversation
            )
            turn = await engine.respond(conversation, content)
            await self._messages.set_analysis(user_message.id, turn.analysis)
            user_message = user_message.model_copy(update={"analysis": turn.analysis})
            reply = await self._store(
                conversation.id, MessageRole.ASSISTANT, turn.reply, "assistant", turn.analysis,
                reply_to=user_message.id,
            )
            conversation = conversation.model_copy(update={
                "collected_info": turn.collected_info, "current_step": turn.step,
                "asked": turn.asked, "purchase_intent": turn.purchase_intent,
                "last_active": reply.timestamp, "last_seq": reply.seq,
                "status": ConversationStatus.OPEN,
            })
            lead = await self._capture_lead(conversation)
            if lead is not None:
                conversation = conversation.model_copy(update={"lead_id": lead.id})
            await self._conversations.save_state(conversation)
            if conversation.lead_id is not None:
                await self._activities.record(
                    conversation.lead_id, MESSAGE_RECEIVED, content[:200],
                    {"conversation_id": conversation.id, "seq": user_message.seq,
                     "channel": conversation.channel.value, "intent": turn.analysis.intent},
                )
        await self._publish_conversation(CONVERSATION_MESSAGE, conversation)
        return ChatTurn(user_message, reply, turn.analysis, conversation, lead, turn.engine)

    async def messages(
        self, actor: Principal | None, conversation_id: str, after_seq: int = 0,
        limit: int = 100,
    ) -> list[Message]:
        await self.get(actor, conversation_id)
        return await self._messages.after(conversation_id, after_seq, limit)

    async def history_for_lead(self, actor: Principal, lead_id: str) -> list[Message]:
        """Every message of every conversation linked to a lead, oldest first."""
        conversations = await self._conversations.for_leads([lead_id])
        if not conversations:
            return []
        return await self._messages.for_conversations([c.id for c in conversations])

    async def open_message_stream(
        self, actor: Principal | None, conversation_id: str, after_seq: int | None = None
    ) -> AsyncGenerator[Message, None]:
        """Live messages; with ``after_seq``, the missed ones first. No gaps, no duplicates.

        Subscribed when this returns (so a caller may then send and miss nothing), and before
        history is read, so a message stored during the replay arrives live too and is
        skipped by its ``seq``.
        """
        conversation = await self.get(actor, conversation_id)
        subscription = self._broker.subscribe(message_channel(conversation_id), resync=True)
        return self._stream(subscription, conversation_id, after_seq, conversation.last_seq)

    async def _replay(
        self, conversation_id: str, last: int
    ) -> AsyncGenerator[Message, None]:
        while True:
            batch = await self._messages.after(conversation_id, last, REPLAY_BATCH)
            for message in batch:
                yield message
                last = message.seq
            if len(batch) < REPLAY_BATCH:
                return

    async def _stream(
        self, subscription: EventSubscription, conversation_id: str, after_seq: int | None,
        seen_at_start: int,
    ) -> AsyncGenerator[Message, None]:
        """Replay, then live, in ``seq`` order with no gap and no duplicate.

        Redis restarts are covered twice: after ``STREAM_RESYNC`` (the broker is back) and on a
        jump in ``seq``, the store is read again after the last ``seq`` delivered.
        """
        try:
            last = after_seq
            if after_seq is not None:
                async for message in self._replay(conversation_id, after_seq):
                    yield message
                    last = message.seq
            async for event in subscription:
                if event.type == STREAM_RESYNC:
                    async for message in self._replay(
                        conversation_id, seen_at_start if last is None else last
                    ):
                        yield message
                        last = message.seq
                    continue
                message = Message.model_validate(event.data["message"])
                if last is not None and message.seq <= last:
                    continue
                if last is not None and message.seq > last + 1:
                    # A gap: messages from another replica still on their way (queued while
                    # Redis was down). The store has them, in order, up to this one.
                    async for stored in self._replay(conversation_id, last):
                        yield stored
                        last = stored.seq
                    if message.seq <= last:
                        continue
                last = message.seq
                yield message
        finally:
            await subscription.aclose()

    async def events(self, actor: Principal) -> AsyncIterator[DomainEvent]:
        subscription = self._broker.subscribe(CONVERSATIONS_CHANNEL)
        try:
            async for event in subscription:
                yield event
        finally:
            await subscription.aclose()

    # -- internals ------------------------------------------------------------------------

    async def _store(
        self, conversation_id: str, role: MessageRole, content: str, sender: str | None,
        analysis: MessageAnalysis | None = None, *, external_id: str | None = None,
        reply_to: str | None = None,
    ) -> Message:
        """Stored first, then published: a subscriber never sees what a restart could lose."""
        seq = await self._conversations.reserve_seq(conversation_id)
        message = await self._messages.insert(MessageFields(
            conversation_id=conversation_id, seq=seq, role=role, content=content,
            sender=sender, analysis=analysis, timestamp=self._clock.now(),
            external_id=external_id, reply_to=reply_to,
        ))
        await self._broker.publish(DomainEvent(
            type=MESSAGE_ADDED, channel=message_channel(conversation_id),
            data={"message": message.model_dump(mode="json")},
        ))
        return message

    async def _capture_lead(self, conversation: Conversation) -> Lead | None:
        """Contact details plus a project (or a HOT visitor) make a lead, created or updated."""
        info = conversation.collected_info
        has_contact = bool(info.email or info.phone)
        qualified = bool(info.project_type) or conversation.purchase_intent is LeadIntent.HOT
        if not (has_contact and qualified):
            return None
        data: dict[str, Any] = {
            "name": info.name, "email": info.email, "phone": info.phone,
            "company": info.company, "project_type": info.project_type,
            "requirements_summary": requirements_summary(info), "timeline": info.timeline,
            "budget_range": info.budget_range, "intent": conversation.purchase_intent.value,
            "follow_up_status": FollowUpStatus.PENDING.value,
            "source": conversation.channel.lead_source.value,
        }
        data = {key: value for key, value in data.items() if value}
        try:
            if conversation.lead_id is not None:
                lead = await self._leads.find(ASSISTANT_PRINCIPAL, conversation.lead_id)
                if lead is not None:
                    data.pop("source")
                    return await self._leads.update(ASSISTANT_PRINCIPAL, lead.id, data)
            write = await self._leads.create(ASSISTANT_PRINCIPAL, data)
        except DomainError as exc:
            # The visitor's turn must not fail because their details clash with a record
            # (e.g. an email that belongs to another lead); the team sees it in the log.
            log.warning("lead capture skipped for conversation %s: %s", conversation.id, exc)
            return None
        return write.lead

    async def _publish_conversation(self, event_type: str, conversation: Conversation) -> None:
        await self._broker.publish(DomainEvent(
            type=event_type, channel=CONVERSATIONS_CHANNEL,
            data={"conversation": conversation.model_dump(mode="json")},
        ))
