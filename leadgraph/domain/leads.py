"""The Lead entity and its rules: field normalisation, names, duplicates, updates.

One model covers the lead fields of every legacy document (``client_name`` in seed 000,
``name`` in 001, ``first_name``/``last_name`` in 002); the REST dialects only rename.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from leadgraph.domain.contacts import join_name, normalize_email, normalize_phone, split_full_name
from leadgraph.domain.errors import FieldProblem, ValidationFailed


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    CLOSED_WON = "closed_won"
    CLOSED_LOST = "closed_lost"


class LeadSource(StrEnum):
    WEBSITE = "website"
    WHATSAPP = "whatsapp"
    INSTAGRAM = "instagram"
    REFERRAL = "referral"
    SOCIAL_MEDIA = "social_media"
    VOICE = "voice"
    IMPORT = "import"
    API = "api"
    EMAIL = "email"
    EVENT = "event"
    OTHER = "other"


class LeadIntent(StrEnum):
    """Purchase intent as the lead-capture document (seed 001) classifies it."""

    HOT = "HOT"
    WARM = "WARM"
    COLD = "COLD"
    NEUTRAL = "NEUTRAL"


class ProjectType(StrEnum):
    MOBILE_APP = "mobile_app"
    WEB_APP = "web_app"
    WEBSITE = "website"
    ECOMMERCE = "ecommerce"
    CHATBOT = "chatbot"
    AI_SOLUTION = "ai_solution"
    OTHER = "other"


class FollowUpStatus(StrEnum):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    CONTACTED = "contacted"
    COMPLETED = "completed"
    NOT_REQUIRED = "not_required"


class ScoreFactors(BaseModel):
    positive_factors: list[str] = Field(default_factory=list)
    negative_factors: list[str] = Field(default_factory=list)


class LeadScore(BaseModel):
    """Seed 002's score object, with the reasons kept next to the numbers."""

    overall_score: float = 0.0
    demographic_score: float = 0.0
    behavioral_score: float = 0.0
    engagement_score: float = 0.0
    intent_score: float = 0.0
    conversion_probability: float = 0.0
    factors: ScoreFactors = Field(default_factory=ScoreFactors)
    recommendations: list[str] = Field(default_factory=list)
    model_version: str = ""
    computed_at: datetime | None = None


class LeadFields(BaseModel):
    """Everything stored about a lead except its id (shared with the storage document)."""

    name: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    industry: str | None = None
    source: LeadSource = LeadSource.WEBSITE
    status: LeadStatus = LeadStatus.NEW
    intent: LeadIntent = LeadIntent.NEUTRAL
    score: LeadScore = Field(default_factory=LeadScore)
    project_type: ProjectType | None = None
    requirements_summary: str | None = None
    timeline: str | None = None
    budget_range: str | None = None
    follow_up_status: FollowUpStatus = FollowUpStatus.PENDING
    notes: str | None = None
    assigned_to: str | None = None
    tags: list[str] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class Lead(LeadFields):
    id: str

    @property
    def contact_info(self) -> str:
        """Seed 000 shows one contact string: the email, else the phone."""
        return self.email or self.phone or ""


# Fields a caller may write. Identity and bookkeeping (id, score, timestamps) are ours.
WRITABLE_FIELDS: tuple[str, ...] = (
    "name", "first_name", "last_name", "email", "phone", "company", "title", "industry",
    "source", "status", "intent", "project_type", "requirements_summary", "timeline",
    "budget_range", "follow_up_status", "notes", "assigned_to", "tags",
)
_NAME_FIELDS = frozenset({"name", "first_name", "last_name"})
_TEXT_LIMIT = 10_000


class LeadInput(BaseModel):
    """Validated, normalised values a caller supplied. Only ``model_fields_set`` counts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    company: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=100)
    source: LeadSource | None = None
    status: LeadStatus | None = None
    intent: LeadIntent | None = None
    project_type: ProjectType | None = None
    requirements_summary: str | None = Field(default=None, max_length=_TEXT_LIMIT)
    timeline: str | None = Field(default=None, max_length=200)
    budget_range: str | None = Field(default=None, max_length=200)
    follow_up_status: FollowUpStatus | None = None
    notes: str | None = Field(default=None, max_length=_TEXT_LIMIT)
    assigned_to: str | None = Field(default=None, max_length=64)
    tags: list[str] | None = Field(default=None, max_length=50)

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return _as_value_error(normalize_email, value)
        return None if value == "" else value

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            return _as_value_error(normalize_phone, value)
        return None if value == "" else value

    @field_validator("intent", mode="before")
    @classmethod
    def _intent_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("source", "status", "project_type", "follow_up_status", mode="before")
    @classmethod
    def _enum_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("industry", mode="after")
    @classmethod
    def _industry_case(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @field_validator("tags", mode="after")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return sorted({tag.strip().lower() for tag in value if tag.strip()})

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> LeadInput:
        """Validate raw input, reporting every bad field at once as a domain error."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ValidationFailed(_problems_from(exc)) from None

    def provided(self) -> dict[str, Any]:
        """Only the fields the caller actually sent (an explicit null counts: it clears)."""
        return {name: getattr(self, name) for name in self.model_fields_set}


def _as_value_error(normalize: Any, value: str) -> str:
    try:
        result: str = normalize(value)
    except ValidationFailed as exc:
        raise ValueError(exc.problems[0].message) from None
    return result


def _problems_from(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "Unknown field"
        problems.append(FieldProblem(location, message))
    return problems


def _reconcile_names(values: dict[str, Any], touched: set[str]) -> None:
    """Keep ``name`` and ``first_name``/``last_name`` consistent, whichever was written."""
    if "name" in touched and not touched & {"first_name", "last_name"}:
        values["first_name"], values["last_name"] = split_full_name(values.get("name") or "")
    elif touched & {"first_name", "last_name"} and "name" not in touched:
        values["name"] = join_name(values.get("first_name"), values.get("last_name"))
    for key in _NAME_FIELDS:
        values[key] = values.get(key) or ""


def new_lead_fields(data: LeadInput, now: datetime) -> LeadFields:
    """A new lead from caller input. A lead must be reachable or at least named."""
    provided = data.provided()
    if not any(provided.get(key) for key in ("name", "first_name", "last_name", "email", "phone")):
        raise ValidationFailed.single(
            "email", "A lead needs at least a name, an email or a phone number"
        )
    values = {key: value for key, value in provided.items() if value is not None}
    _reconcile_names(values, set(values))
    return LeadFields(**values, created_at=now, updated_at=now)


@dataclass
class LeadChange:
    """Result of applying input to an existing lead: the new state and what moved."""

    fields: LeadFields
    changed: list[str] = field(default_factory=list)


def apply_update(current: LeadFields, data: LeadInput, now: datetime) -> LeadChange:
    """Explicitly sent fields overwrite (null clears optional ones); the rest is kept.

    A status change must follow the pipeline (``check_transition``).
    """
    if data.status is not None:
        check_transition(current.status, data.status)
    return _apply(current, data.provided(), now)


def merge_duplicate(current: LeadFields, data: LeadInput, now: datetime) -> LeadChange:
    """A create that matched an existing lead by email/phone enriches it instead.

    Sent non-empty values win, empty ones never erase what we know, tags are unioned, and
    the original ``source`` is kept: first-touch attribution must not move.
    """
    provided = {
        k: v for k, v in data.provided().items() if v not in (None, "", []) and k != "source"
    }
    if "tags" in provided:
        provided["tags"] = sorted(set(current.tags) | set(provided["tags"]))
    return _apply(current, provided, now)


def _apply(current: LeadFields, provided: dict[str, Any], now: datetime) -> LeadChange:
    values = current.model_dump()
    touched = set()
    for key, value in provided.items():
        if key in _NAME_FIELDS | {"tags"} and value is None:
            value = "" if key in _NAME_FIELDS else []
        if key not in ("source", "status", "intent", "follow_up_status") or value is not None:
            values[key] = value
            touched.add(key)
    _reconcile_names(values, touched)
    updated = LeadFields.model_validate(values)
    changed = [key for key in WRITABLE_FIELDS if getattr(updated, key) != getattr(current, key)]
    if changed:
        updated.updated_at = now
    return LeadChange(fields=updated, changed=changed)


class LeadSortField(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    SCORE = "score"
    NAME = "name"
    COMPANY = "company"
    STATUS = "status"


@dataclass(frozen=True)
class LeadOrder:
    field: LeadSortField = LeadSortField.CREATED_AT
    descending: bool = True


@dataclass(frozen=True)
class LeadFilter:
    """Every list filter any transport offers; all conditions must hold."""

    statuses: tuple[LeadStatus, ...] = ()
    sources: tuple[LeadSource, ...] = ()
    intents: tuple[LeadIntent, ...] = ()
    assigned_to: str | None = None
    min_score: float | None = None
    search: str | None = None

    def __post_init__(self) -> None:
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ValidationFailed.single("min_score", "must be between 0 and 1")
        if self.search is not None and len(self.search) > 200:
            raise ValidationFailed.single("search", "must be at most 200 characters")


# The sales pipeline, in order. closed_lost can be reached from any open stage.
PIPELINE_ORDER: tuple[LeadStatus, ...] = (
    LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.PROPOSAL,
    LeadStatus.CLOSED_WON,
)
REOPEN_TO = frozenset({LeadStatus.NEW, LeadStatus.CONTACTED})


def check_transition(current: LeadStatus, target: LeadStatus) -> None:
    """Pipeline rule: forward moves may skip stages, a correction goes back one stage at most,
    closed_won is final, and a closed_lost lead can only be reopened as new or contacted."""
    if current is target:
        return
    problem = None
    if current is LeadStatus.CLOSED_WON:
        problem = "closed_won is final"
    elif current is LeadStatus.CLOSED_LOST:
        if target not in REOPEN_TO:
            problem = "a closed_lost lead can only be reopened as new or contacted"
    elif target is not LeadStatus.CLOSED_LOST:
        step = PIPELINE_ORDER.index(target) - PIPELINE_ORDER.index(current)
        if step < -1:
            problem = "a lead can move back only one stage at a time"
    if problem:
        raise ValidationFailed.single(
            "status", f"cannot move from {current.value} to {target.value}: {problem}"
        )
