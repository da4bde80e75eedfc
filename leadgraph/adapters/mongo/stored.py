"""Hot read paths: stored MongoDB documents straight into domain models.

A Beanie ``Document`` costs far more to build than the domain model it is turned into (its
``__init__``, lazy parsing and pydantic private attributes, then ``model_dump`` and a second
validation into the domain type). The documents in ``documents.py`` reuse the domain's field
models, so a raw document validated by the domain model gives the same entity. Used where a
page reads many documents per request (the lead list, its assignees, conversations and last
messages); writes still go through Beanie.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)


def from_stored(model: type[Model], stored: Mapping[str, Any]) -> Model:
    """The domain entity for a raw stored document (``_id`` → ``id`` as a hex string)."""
    fields = {key: value for key, value in stored.items()
              if key != "_id" and key != "revision_id"}
    fields["id"] = str(stored["_id"])
    return model.model_validate(fields)
