"""Mutation root."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import Info
from strawberry.file_uploads import Upload

from leadgraph.resolvers.auth import TokenGrant
from leadgraph.schema.activity_types import Activity, LeadActivityInput
from leadgraph.schema.call_types import CallMutation
from leadgraph.schema.chatbot_types import ChatbotMutation
from leadgraph.schema.context import GraphQLContext
from leadgraph.schema.conversation_types import (
    ChatTurn,
    Conversation,
    Message,
    MessageAnalysis,
    StartConversationInput,
)
from leadgraph.schema.import_types import ImportJob, upload_chunks, uploaded_file
from leadgraph.schema.inputs import LeadInput, LeadUpdateInput, provided_fields
from leadgraph.schema.merge_types import LeadMerge, MergeLeadsResult, UnmergeLeadsResult
from leadgraph.schema.permissions import IsAuthenticated
from leadgraph.schema.types import ApiKey, ApiKeyCreated, ApiKeyTier, AuthPayload, Lead, User
from leadgraph.schema.webhook_types import WebhookMutation

Ctx = Info[GraphQLContext, Any]


def _auth_payload(grant: TokenGrant) -> AuthPayload:
    return AuthPayload(
        access_token=grant.access_token, refresh_token=grant.refresh_token,
        token_type=grant.token_type, expires_in=grant.expires_in,
        user=User.from_domain(grant.user),
    )


@strawberry.type
class Mutation(CallMutation, WebhookMutation, ChatbotMutation):
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description=(
            "Create a lead. If a lead with the same (normalised) email or phone exists it is "
            "updated instead, and `extensions.leadgraph.deduplicated` lists its id."
        ),
    )
    async def create_lead(self, info: Ctx, input: LeadInput) -> Lead:
        write = await info.context.use_cases.leads.create(
            info.context.actor(), provided_fields(input)
        )
        if write.deduplicated:
            info.context.notices.append({"deduplicated": write.lead.id})
        return Lead.from_domain(write.lead)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_lead(self, info: Ctx, id: strawberry.ID, input: LeadUpdateInput) -> Lead:
        lead = await info.context.use_cases.leads.update(
            info.context.actor(), str(id), provided_fields(input)
        )
        return Lead.from_domain(lead)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_lead(self, info: Ctx, id: strawberry.ID) -> bool:
        await info.context.use_cases.leads.delete(info.context.actor(), str(id))
        return True

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Add an entry to a lead's timeline (seed 002's activities).")
    async def add_lead_activity(
        self, info: Ctx, lead_id: strawberry.ID, input: LeadActivityInput
    ) -> Activity:
        activity = await info.context.use_cases.activities.add(
            info.context.actor(), str(lead_id), input.activity_type, input.description,
            input.metadata,
        )
        return Activity.from_domain(activity)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Fold a duplicate into a primary lead (conversations and timeline move).",
    )
    async def merge_leads(
        self, info: Ctx, primary_id: strawberry.ID, duplicate_id: strawberry.ID
    ) -> MergeLeadsResult:
        outcome = await info.context.use_cases.merges.merge(
            info.context.actor(), str(primary_id), str(duplicate_id)
        )
        return MergeLeadsResult(lead=Lead.from_domain(outcome.lead),
                                merge=LeadMerge.from_domain(outcome.record))

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Undo a merge: the duplicate comes back with its id.")
    async def unmerge_leads(self, info: Ctx, merge_id: strawberry.ID) -> UnmergeLeadsResult:
        outcome = await info.context.use_cases.merges.unmerge(info.context.actor(), str(merge_id))
        return UnmergeLeadsResult(
            primary=Lead.from_domain(outcome.primary), restored=Lead.from_domain(outcome.restored),
            merge=LeadMerge.from_domain(outcome.record),
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated],
                         description="Recompute a lead's score now (it also refreshes by itself).")
    async def refresh_lead_score(self, info: Ctx, id: strawberry.ID) -> Lead:
        lead = await info.context.use_cases.scores.refresh(str(id), "manual")
        return Lead.from_domain(lead)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def start_conversation(self, info: Ctx, input: StartConversationInput) -> Conversation:
        conversation = await info.context.use_cases.conversations.start(
            info.context.actor(), channel=input.channel, external_id=input.session_id,
            lead_id=str(input.lead_id) if input.lead_id else None,
        )
        return Conversation.from_domain(conversation)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Send a visitor message; returns it, the assistant's reply and the state.",
    )
    async def send_message(self, info: Ctx, conversation_id: strawberry.ID, text: str) -> ChatTurn:
        turn = await info.context.use_cases.conversations.send_message(
            info.context.actor(), str(conversation_id), text, field_name="text"
        )
        return ChatTurn(
            user_message=Message.from_domain(turn.user_message),
            reply=Message.from_domain(turn.reply),
            analysis=MessageAnalysis.from_domain(turn.analysis),
            conversation=Conversation.from_domain(turn.conversation),
            lead=Lead.from_domain(turn.lead) if turn.lead else None,
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_conversation(self, info: Ctx, id: strawberry.ID) -> bool:
        await info.context.use_cases.conversations.delete(info.context.actor(), str(id))
        return True

    @strawberry.mutation(description="Exchange an email or username and password for tokens.")
    async def login(self, info: Ctx, identifier: str, password: str,
                    code: str | None = None) -> AuthPayload:
        return _auth_payload(
            await info.context.use_cases.auth.login(identifier, password, code)
        )

    @strawberry.mutation(description="Rotate a refresh token; each one works once.")
    async def refresh_token(self, info: Ctx, refresh_token: str) -> AuthPayload:
        return _auth_payload(await info.context.use_cases.auth.refresh(refresh_token))

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def logout(self, info: Ctx) -> bool:
        await info.context.use_cases.auth.logout(info.context.actor())
        return True

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Admins only.")
    async def create_user(
        self, info: Ctx, email: str, password: str, name: str | None = None,
        username: str | None = None, admin: bool = False,
    ) -> User:
        user = await info.context.use_cases.users.create(
            info.context.actor(), email=email, password=password, name=name,
            username=username, admin=admin,
        )
        return User.from_domain(user)

    @strawberry.mutation(permission_classes=[IsAuthenticated], description="Admins only.")
    async def create_api_key(
        self, info: Ctx, name: str,
        tier: ApiKeyTier = ApiKeyTier.STANDARD,  # type: ignore[valid-type]
    ) -> ApiKeyCreated:
        stored, secret = await info.context.use_cases.auth.create_api_key(
            info.context.actor(), name, tier
        )
        return ApiKeyCreated(
            api_key=ApiKey(
                id=strawberry.ID(stored.id), name=stored.name, prefix=stored.prefix,
                tier=stored.tier, created_at=stored.created_at,
            ),
            key=secret,
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description=(
            "Import leads from a CSV upload (GraphQL multipart request; send the "
            "`Apollo-Require-Preflight: true` header). Returns the queued job at once; follow "
            "it with `importJobProgress` or by polling `importJob`."
        ),
    )
    async def import_leads(self, info: Ctx, file: Upload) -> ImportJob:
        upload = uploaded_file(file)
        job = await info.context.use_cases.imports.start(
            info.context.actor(), upload.filename or "upload.csv", upload_chunks(upload),
            upload.content_type,
        )
        return ImportJob.from_domain(job)
