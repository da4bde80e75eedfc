"""Entity extraction: contact details, budget, timeline, project type and features."""

from __future__ import annotations

import re

import phonenumbers

from leadgraph.domain.contacts import DEFAULT_PHONE_REGION
from leadgraph.domain.conversations import Entity

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NAME = re.compile(
    r"\b(?i:my name is|my name['\u2019]s|i am|i['\u2019]m|this is|call me|name is)\s+"
    r"(_W(?:\s+_W){0,2})".replace("_W", r"[A-Z\u00c0-\u00de][^\W\d_]*(?:['\u2019-][^\W\d_]+)*")
)
_NOT_NAMES = frozenset({"Interested", "Looking", "Ready", "Just", "Not", "Happy", "Here",
                        "Planning", "Building", "Working", "From", "The", "A", "An", "Sure"})
_COMPANY = re.compile(
    r"\b(?:i work (?:at|for)|i'm from|i am from|we are|we're|our company is|company is|"
    r"company called|from|at)\s+([A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*){0,3})"
)
_COMPANY_SUFFIX = re.compile(
    r"\b([A-Z][\w&-]*(?:\s+[A-Z][\w&-]*){0,3}\s+(?:Inc|LLC|Ltd|Corp|GmbH|Co)\.?)(?=\W|$)"
)
_NUMBER = r"\$?\s*(\d+(?:[.,]\d+)*)\s*(k|K|thousand|m|M|million)?"
_BUDGET_RANGE = re.compile(
    _NUMBER + r"\s*(?:dollars|usd|\$)?\s*(?:-|\u2013|to|and)\s*" + _NUMBER + r"\s*(?:dollars|usd)?",
    re.IGNORECASE,
)
_BUDGET_BOUND = re.compile(
    r"\b(under|below|less than|up to|max(?:imum)?|around|about|roughly|approximately|over|"
    r"more than|at least)\s+" + _NUMBER, re.IGNORECASE,
)
_BUDGET_PLAIN = re.compile(
    r"(?:budget (?:is|of|around)?\s*|\$)\s*(\d+(?:[.,]\d+)*)\s*(k|K|thousand|m|M|million)?",
    re.IGNORECASE,
)
_TIMELINE_PATTERNS = (
    re.compile(r"\b(asap|as soon as possible|urgent(?:ly)?|right away|immediately)\b", re.I),
    re.compile(r"\b(?:within|in|about|around)?\s*(\d+|one|two|three|four|five|six|twelve)"
               r"\s*(?:-|to)?\s*(\d+)?\s+(days?|weeks?|months?|years?)\b", re.I),
    re.compile(r"\b(?:by|before|in)\s+(q[1-4])\b", re.I),
    re.compile(r"\b(next (?:week|month|quarter|year))\b", re.I),
    re.compile(r"\b(end of (?:the )?(?:month|quarter|year))\b", re.I),
    re.compile(r"\b(?:by|before|in)\s+(january|february|march|april|may|june|july|august|"
               r"september|october|november|december)\b", re.I),
)
_PROJECT_TYPES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ecommerce", ("ecommerce", "e-commerce", "online store", "online shop", "webshop",
                   "shopify", "sell online", "marketplace")),
    ("chatbot", ("chatbot", "chat bot", "virtual assistant", "conversational bot", " bot ")),
    ("ai_solution", ("artificial intelligence", "machine learning", "ai solution",
                     "ai-powered", "ai powered", " ai ", "computer vision", " ml ", "llm")),
    ("mobile_app", ("mobile app", "ios app", "android app", "iphone app", "mobile application",
                    "app for ios", "app for android", "ios and android", "react native",
                    "flutter")),
    ("web_app", ("web app", "web application", "saas", "dashboard", "portal", "platform",
                 "crm")),
    ("website", ("website", "landing page", "web site", "homepage", "blog", "wordpress")),
)
_FEATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("payment integration", ("payment", "checkout", "stripe", "paypal", "billing")),
    ("user authentication", ("login", "log in", "sign in", "sign-in", "authentication",
                             "user accounts", "signup", "sign up", "registration")),
    ("push notifications", ("push notification", "notifications", "alerts")),
    ("chat/messaging", ("messaging", "in-app chat", "live chat", "chat feature")),
    ("booking/scheduling", ("booking", "appointment", "scheduling", "calendar", "reservation")),
    ("analytics dashboard", ("analytics", "reporting", "reports", "metrics")),
    ("admin panel", ("admin panel", "admin dashboard", "back office", "backoffice", "cms")),
    ("maps/geolocation", ("map", "gps", "geolocation", "location tracking")),
    ("social login", ("social login", "google login", "facebook login")),
    ("search", ("search", "filtering")),
    ("inventory management", ("inventory", "stock management")),
    ("subscriptions", ("subscription", "recurring")),
    ("video", ("video", "streaming")),
    ("offline mode", ("offline",)),
    ("multi-language", ("multi-language", "multilingual", "translation", "localization")),
    ("crm integration", ("crm integration", "salesforce", "hubspot")),
    ("product catalog", ("product catalog", "catalogue", "product listing", "products")),
    ("reviews and ratings", ("reviews", "ratings")),
)
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12}


def extract_entities(text: str) -> list[Entity]:
    found: list[Entity] = []
    lowered = f" {text.lower()} "
    for match in _EMAIL.finditer(text):
        found.append(Entity(type="email", value=match.group(0).lower(), text=match.group(0)))
    text_without_emails = _EMAIL.sub(" ", text)
    for phone_match in phonenumbers.PhoneNumberMatcher(text_without_emails, DEFAULT_PHONE_REGION,
                                                       leniency=phonenumbers.Leniency.POSSIBLE):
        e164 = phonenumbers.format_number(phone_match.number, phonenumbers.PhoneNumberFormat.E164)
        found.append(Entity(type="phone", value=str(e164), text=phone_match.raw_string))
    if name := _person_name(text):
        found.append(Entity(type="person", value=name, text=name))
    if company := _company(text):
        found.append(Entity(type="company", value=company, text=company))
    if budget := extract_budget(text_without_emails):
        found.append(Entity(type="budget", value=budget[0], text=budget[1]))
    if timeline := extract_timeline(text):
        found.append(Entity(type="timeline", value=timeline[0], text=timeline[1]))
    for project_type, keywords in _PROJECT_TYPES:
        if any(keyword in lowered for keyword in keywords):
            found.append(Entity(type="project_type", value=project_type, text=project_type))
            break
    for feature, keywords in _FEATURES:
        if any(keyword in lowered for keyword in keywords):
            found.append(Entity(type="feature", value=feature, text=feature))
    return found


def _person_name(text: str) -> str | None:
    for match in _NAME.finditer(text):
        words = [w for w in match.group(1).split() if w not in _NOT_NAMES]
        if words and words[0] == match.group(1).split()[0]:
            return " ".join(words)
    return None


def _company(text: str) -> str | None:
    if match := _COMPANY_SUFFIX.search(text):
        return match.group(1).strip()
    for match in _COMPANY.finditer(text):
        candidate = match.group(1).strip().rstrip(".")
        first = candidate.split()[0]
        if first not in _NOT_NAMES and first.lower() not in ("q1", "q2", "q3", "q4") and \
                not _looks_like_month(first):
            return candidate
    return None


def _looks_like_month(word: str) -> bool:
    return word.lower() in {"january", "february", "march", "april", "may", "june", "july",
                            "august", "september", "october", "november", "december"}


def _amount(number: str, unit: str | None) -> int:
    value = float(number.replace(",", ""))
    scale = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
    return round(value * scale.get((unit or "").lower(), 1))


def _money(value: int) -> str:
    return f"${value:,}"


def extract_budget(text: str) -> tuple[str, str] | None:
    """``$10k-20k`` -> ``$10,000-$20,000``; ``under 5k`` -> ``under $5,000``."""
    if match := _BUDGET_RANGE.search(text):
        low_unit = match.group(2) or match.group(4)
        low = _amount(match.group(1), low_unit)
        high = _amount(match.group(3), match.group(4) or match.group(2))
        if high >= low >= 100 and ("$" in match.group(0) or "dollar" in match.group(0).lower()
                                   or "usd" in match.group(0).lower() or low_unit
                                   or "budget" in text.lower()):
            return f"{_money(low)}-{_money(high)}", match.group(0).strip()
    if match := _BUDGET_BOUND.search(text):
        amount = _amount(match.group(2), match.group(3))
        if amount >= 100:
            qualifier = match.group(1).lower()
            word = {"below": "under", "less than": "under", "up to": "under", "max": "under",
                    "maximum": "under", "about": "around", "roughly": "around",
                    "approximately": "around", "more than": "over", "at least": "over"}
            return f"{word.get(qualifier, qualifier)} {_money(amount)}", match.group(0).strip()
    if match := _BUDGET_PLAIN.search(text):
        amount = _amount(match.group(1), match.group(2))
        if amount >= 100:
            return _money(amount), match.group(0).strip()
    return None


def extract_timeline(text: str) -> tuple[str, str] | None:
    """``ASAP``, ``3 months``, ``by Q2``, ``next week`` … normalised to short phrases."""
    for index, pattern in enumerate(_TIMELINE_PATTERNS):
        match = pattern.search(text)
        if match is None:
            continue
        if index == 0:
            return "ASAP", match.group(0)
        if index == 1:
            count = match.group(1).lower()
            number = _WORD_NUMBERS.get(count) or int(count)
            unit = match.group(3).lower().rstrip("s")
            if match.group(2):
                return f"{number}-{match.group(2)} {unit}s", match.group(0).strip()
            return f"{number} {unit}{'s' if number != 1 else ''}", match.group(0).strip()
        if index == 2:
            return f"by {match.group(1).upper()}", match.group(0)
        return match.group(1).lower() if index != 5 else f"by {match.group(1).title()}", \
            match.group(0)
    return None
