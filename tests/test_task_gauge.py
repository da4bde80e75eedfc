"""The asyncio task gauge that bench/subscriptions.py reads to check for leaked tasks."""

from __future__ import annotations

import re

import httpx

from tests.support import LiveServer


async def test_metrics_report_the_event_loop_task_count(
    server: LiveServer, anonymous: httpx.AsyncClient
) -> None:
    response = await anonymous.get("/api/health/metrics")
    assert response.status_code == 200
    match = re.search(r"^leadgraph_asyncio_tasks (\S+)$", response.text, re.MULTILINE)
    assert match is not None, response.text
    # At least the task serving this very request (the test server shares this loop).
    assert float(match.group(1)) >= 1
