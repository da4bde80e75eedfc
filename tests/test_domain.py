"""Pure domain rules and settings validation: no server, no database."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from leadgraph.domain.contacts import normalize_email, normalize_phone
from leadgraph.domain.errors import ValidationFailed
from leadgraph.domain.leads import (
    LeadFields,
    LeadInput,
    LeadIntent,
    LeadSource,
    LeadStatus,
    apply_update,
    merge_duplicate,
    new_lead_fields,
)
from leadgraph.domain.scoring import score_lead
from leadgraph.settings import Environment, Settings

NOW = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
LONG_SECRET = "s" * 40


def lead(**values: object) -> LeadFields:
    return new_lead_fields(LeadInput.parse(values), NOW)


# -- contacts ------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("John.Doe@Company.COM", "john.doe@company.com"),
    ("  someone@example.org ", "someone@example.org"),
])
def test_normalize_email_lowercases_and_trims(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["not-an-email", "a@", "@b.co", ""])
def test_normalize_email_rejects_bad_syntax_naming_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_email(raw, field_name="contact_email")
    assert [p.field for p in caught.value.problems] == ["contact_email"]
    assert caught.value.code == "BAD_USER_INPUT"


@pytest.mark.parametrize(("raw", "expected"), [
    ("+1-555-123-4567", "+15551234567"),  # seed 002's example
    ("(415) 555-2671", "+14155552671"),  # national format, default region US
    ("14155552671", "+14155552671"),  # WhatsApp id: digits with country code, no "+"
    ("+44 20 7946 0958", "+442079460958"),
])
def test_normalize_phone_returns_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "12", ""])
def test_normalize_phone_rejects_garbage(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_phone(raw)
    assert [p.field for p in caught.value.problems] == ["phone"]
    assert "Invalid phone number" in caught.value.problems[0].message


# -- lead input ----------------------------------------------------------------------------


def test_lead_input_parse_reports_every_bad_field_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        LeadInput.parse({
            "email": "nope", "phone": "abc", "status": "bogus", "colour": "red",
            "company": "Fine Inc",
        })
    problems = {p.field: p.message for p in caught.value.problems}
    assert set(problems) == {"email", "phone", "status", "colour"}
    assert problems["colour"] == "Unknown field"
    assert "Invalid email format" in problems["email"]
    assert "Invalid phone number" in problems["phone"]
    for name in problems:
        assert name in caught.value.message


def test_lead_input_normalises_values() -> None:
    data = LeadInput.parse({
        "email": " Jane@Example.COM ", "phone": "(415) 555-2671", "intent": "hot",
        "source": "WhatsApp", "industry": "Technology", "tags": ["VIP", "vip ", " ", "b2b"],
    })
    assert data.provided() == {
        "email": "jane@example.com", "phone": "+14155552671", "intent": LeadIntent.HOT,
        "source": LeadSource.WHATSAPP, "industry": "technology", "tags": ["b2b", "vip"],
    }


def test_new_lead_needs_a_name_or_a_way_to_reach_it() -> None:
    with pytest.raises(ValidationFailed) as caught:
        lead(company="Acme")
    assert caught.value.problems[0].field == "email"


def test_full_name_is_split_into_first_and_last() -> None:
    fields = lead(name="Mary Ann Smith")
    assert (fields.name, fields.first_name, fields.last_name) == (
        "Mary Ann Smith", "Mary Ann", "Smith"
    )
    single = lead(name="Cher")
    assert (single.first_name, single.last_name) == ("Cher", "")


def test_first_and_last_name_are_joined_into_name() -> None:
    fields = lead(first_name="John", last_name="Doe")
    assert (fields.name, fields.first_name, fields.last_name) == ("John Doe", "John", "Doe")
    only_last = lead(last_name="Doe", email="d@example.com")
    assert only_last.name == "Doe"


def test_updating_first_name_rebuilds_name() -> None:
    current = lead(first_name="John", last_name="Doe")
    change = apply_update(current, LeadInput.parse({"first_name": "Johnny"}), LATER)
    assert change.fields.name == "Johnny Doe"
    assert set(change.changed) == {"first_name", "name"}
    assert change.fields.updated_at == LATER


# -- duplicates and updates ----------------------------------------------------------------


def test_merge_duplicate_keeps_source_unions_tags_and_never_erases() -> None:
    current = lead(
        name="Ann Lee", email="ann@example.com", phone="+14155552671", company="Acme",
        title="CTO", source="whatsapp", tags=["a", "vip"],
    )
    change = merge_duplicate(current, LeadInput.parse({
        "email": "ann@example.com", "source": "website", "tags": ["b", "vip"],
        "company": "", "title": None, "phone": "", "industry": "software",
    }), LATER)
    merged = change.fields
    assert merged.source is LeadSource.WHATSAPP  # first touch attribution stays
    assert merged.tags == ["a", "b", "vip"]
    assert merged.company == "Acme"
    assert merged.title == "CTO"
    assert merged.phone == "+14155552671"
    assert merged.industry == "software"
    assert merged.name == "Ann Lee"
    assert sorted(change.changed) == ["industry", "tags"]
    assert merged.created_at == NOW
    assert merged.updated_at == LATER


def test_merge_duplicate_with_nothing_new_changes_nothing() -> None:
    current = lead(name="Ann Lee", email="ann@example.com", tags=["a"])
    change = merge_duplicate(current, LeadInput.parse({"email": "ann@example.com"}), LATER)
    assert change.changed == []
    assert change.fields.updated_at == NOW


def test_apply_update_with_explicit_none_clears_optional_fields() -> None:
    current = lead(
        name="Ann Lee", email="ann@example.com", phone="+14155552671", company="Acme",
        notes="call back", tags=["x"], status="contacted",
    )
    change = apply_update(current, LeadInput.parse({
        "company": None, "notes": None, "phone": None, "tags": None, "status": None,
    }), LATER)
    updated = change.fields
    assert updated.company is None
    assert updated.notes is None
    assert updated.phone is None
    assert updated.tags == []
    # Required enums are not nullable: an explicit null leaves them alone.
    assert updated.status is LeadStatus.CONTACTED
    # Fields that were not sent are kept.
    assert updated.email == "ann@example.com"
    assert updated.name == "Ann Lee"
    assert sorted(change.changed) == ["company", "notes", "phone", "tags"]


def test_apply_update_name_none_clears_all_name_parts() -> None:
    current = lead(name="Ann Lee", email="ann@example.com")
    updated = apply_update(current, LeadInput.parse({"name": None}), LATER).fields
    assert (updated.name, updated.first_name, updated.last_name) == ("", "", "")


# -- scoring -------------------------------------------------------------------------------


def test_senior_lead_with_hot_intent_outscores_bare_cold_lead_and_says_why() -> None:
    strong = score_lead(lead(
        first_name="Jane", last_name="Roe", email="jane@corp.example", company="Corp",
        title="VP of Engineering", industry="Technology", intent="HOT",
    ), NOW)
    weak = score_lead(lead(name="Nobody", intent="COLD"), NOW)

    assert strong.overall_score > weak.overall_score
    assert strong.conversion_probability > weak.conversion_probability
    for score in (strong, weak):
        for value in (score.overall_score, score.demographic_score, score.intent_score,
                      score.conversion_probability):
            assert 0.0 <= value <= 1.0
        assert score.model_version
        assert score.computed_at == NOW
        assert len(score.recommendations) == 1

    assert "Senior title/decision maker" in strong.factors.positive_factors
    assert "Has company information" in strong.factors.positive_factors
    assert "Industry is a good fit" in strong.factors.positive_factors
    assert "High purchase intent" in strong.factors.positive_factors
    assert strong.factors.negative_factors == []

    assert "Senior title/decision maker" not in weak.factors.positive_factors
    assert "No company information" in weak.factors.negative_factors
    assert "No way to contact" in weak.factors.negative_factors
    assert "Low purchase intent" in weak.factors.negative_factors
    assert strong.recommendations[0].startswith("High priority")
    assert weak.recommendations[0].startswith("Low priority")


# -- settings ------------------------------------------------------------------------------


def settings(**values: object) -> Settings:
    """Settings from these values only (init values beat the environment; no .env file)."""
    merged: dict[str, Any] = {"secret_key": None, "mongodb_url": None, "api_key": None,
                              **values}
    return Settings(_env_file=None, **merged)


def test_production_without_secret_key_fails_validation() -> None:
    with pytest.raises(ValidationError, match="production mode requires SECRET_KEY"):
        settings(leadgraph_env="production", mongodb_url="mongodb://127.0.0.1:27017")


def test_production_with_secret_and_database_is_valid() -> None:
    ok = settings(leadgraph_env="production", mongodb_url="mongodb://127.0.0.1:27017",
                  secret_key=LONG_SECRET)
    assert ok.leadgraph_env is Environment.PRODUCTION
    assert ok.resolved_secret_key() == LONG_SECRET


@pytest.mark.parametrize("env", ["development", "production"])
def test_short_secret_key_fails_validation(env: str) -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        settings(leadgraph_env=env, mongodb_url="mongodb://127.0.0.1:27017",
                 secret_key="x" * 31)


def test_development_generates_a_private_secret_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = settings(leadgraph_data_dir=data_dir)
    key = first.resolved_secret_key()

    key_file = data_dir / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert key_file.read_text().strip() == key

    assert first.resolved_secret_key() == key
    # Another process (a new Settings) reads the same key instead of making a new one.
    assert settings(leadgraph_data_dir=data_dir).resolved_secret_key() == key
    # A different data dir gets a different key.
    assert settings(leadgraph_data_dir=tmp_path / "other").resolved_secret_key() != key
