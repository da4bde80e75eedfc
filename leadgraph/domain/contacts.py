"""Normalisation of contact data, so that one person is one lead whatever the channel."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from leadgraph.domain.errors import ValidationFailed

DEFAULT_PHONE_REGION = "US"
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def normalize_email(raw: str, field_name: str = "email") -> str:
    """Lower-cased, syntax-checked address. Deliverability is not checked: that needs DNS."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed.single(field_name, f"Invalid email format: {exc}") from exc
    return result.normalized.lower()


def normalize_phone(raw: str, field_name: str = "phone", region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 (``+15551234567``): WhatsApp sends ``15551234567``, seed 002 ``+1-555-123-4567``.

    Numbers without a country code are read in ``region``; WhatsApp ids (digits only, with
    country code) are tried with a leading ``+`` first.
    """
    text = raw.strip()
    candidates = [text]
    if text.isdigit() and len(text) > 10:
        candidates.insert(0, "+" + text)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        # "Possible" (right length for the country), not "valid": seed 002's own example,
        # +1-555-123-4567, is a fictional 555 number that a legacy client may well send.
        if phonenumbers.is_possible_number(number):
            return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    # Already E.164-shaped but of no length the numbering plan knows: seed 001's own example,
    # +1234567890, is a placeholder a legacy client may well send. Keep it as sent.
    compact = re.sub(r"[\s().-]", "", text)
    if _E164.fullmatch(compact):
        return compact
    raise ValidationFailed.single(field_name, f"Invalid phone number: {raw!r}")


def split_full_name(full_name: str) -> tuple[str, str]:
    """``"Mary Ann Smith"`` -> ``("Mary Ann", "Smith")``; a single word is a first name."""
    words = full_name.split()
    if len(words) <= 1:
        return (words[0] if words else "", "")
    return (" ".join(words[:-1]), words[-1])


def join_name(first: str | None, last: str | None) -> str:
    return " ".join(part for part in (first or "", last or "") if part.strip()).strip()
