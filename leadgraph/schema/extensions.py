"""Schema extensions of our own: notices returned in ``extensions.leadgraph``."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension


class Notices(SchemaExtension):
    """Side facts a client may want, e.g. that ``createLead`` enriched an existing lead."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        notices = getattr(context, "notices", None)
        if not notices:
            return {}
        merged: dict[str, list[Any]] = {}
        for notice in notices:
            for key, value in notice.items():
                merged.setdefault(key, []).append(value)
        return {"leadgraph": merged}
