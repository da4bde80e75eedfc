"""What every benchmark shares: the app's settings, machine facts, and the figure format.

A :class:`Figure` is one measured value next to the baseline measured in the same run, the
ratio between them, and the target when the issue sets one. ``python -m bench`` prints them
all in one table at the end.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def app_settings(mongodb_url: str, data_dir: Path, db_name: str, api_key: str,
                 secret_key: str, **extra: Any) -> Any:
    """Settings for the app under test: the real stack, rate limits included but scaled so
    high that a benchmark's thousands of requests per minute from one key are never refused
    (the limiter still runs and is part of what is measured)."""
    from leadgraph.settings import Settings

    values: dict[str, Any] = {
        "mongodb_url": mongodb_url,
        "mongodb_db_name": db_name,
        "redis_url": None,
        "api_key": api_key,
        "secret_key": secret_key,
        "leadgraph_data_dir": data_dir,
        **extra,
    }
    if "rate_limit_multiplier" in Settings.model_fields:
        values.setdefault("rate_limit_multiplier", 1_000_000.0)
    return Settings.model_validate(values)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_lines() -> list[str]:
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("uvicorn", "starlette", "strawberry-graphql", "graphql-core", "pymongo",
                     "beanie", "nx-27017", "redis", "websockets", "httpx")
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {len(os.sched_getaffinity(0))} cores ({os.cpu_count()} online), "
        f"{cpu_model()}, {platform.machine()}, {platform.system()} {platform.release()}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"versions: {versions}",
        f"load average at start: {load}",
    ]


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), inclusive method; the value itself for one sample."""
    if len(samples) == 1:
        return samples[0]
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[max(0, min(98, round(q) - 1))]


@dataclass(frozen=True)
class Figure:
    """One figure with its same-run baseline. ``higher_is_better`` says which way the ratio
    (value / baseline) should go; ``target`` is the issue's goal, as text, when it has one."""

    name: str
    value: float
    unit: str
    baseline_name: str
    baseline: float
    higher_is_better: bool
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("inf")


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    seconds: float = 0.0


def figures_table(figures: Sequence[Figure]) -> list[str]:
    lines = [f"{'figure':<46}{'value':>11} {'unit':<6}{'baseline':>11}  {'ratio':>7}  "
             f"{'target':<22} met"]
    for figure in figures:
        met = "-" if figure.met is None else ("yes" if figure.met else "NO")
        lines.append(
            f"{figure.name:<46}{figure.value:>11.2f} {figure.unit:<6}{figure.baseline:>11.2f}  "
            f"{figure.ratio:>6.2f}x  {figure.target:<22} {met}"
        )
        lines.append(f"{'':<4}baseline: {figure.baseline_name}"
                     + (f"; {figure.note}" if figure.note else ""))
    return lines
