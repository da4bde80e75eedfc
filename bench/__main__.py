"""``python -m bench``: every benchmark of issue 8, each figure next to a same-run baseline.

    python -m bench            # about 1.5 minutes on 2 cores
    python -m bench --quick    # fewer requests, rounds and cycles: about a minute
    python -m bench --only leads subscriptions

Runs, in order: the leads page (GraphQL vs a hand-written endpoint), subscriptions (fan-out
on one worker and across two Redis replicas, idle memory, churn), the chat turn and the call
turn. Each part prints its own table; the end prints every figure with its baseline, the
ratio, the target where the issue sets one and whether it was met. A part that fails is
reported and the others still run (the exit status is then 1). See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable

from bench._common import Section, figures_table, machine_lines

PARTS: dict[str, tuple[str, str]] = {
    # name: (module, what)
    "leads": ("bench.leads_page", "leads page, GraphQL vs hand-written"),
    "subscriptions": ("bench.subscriptions", "fan-out, idle memory, churn"),
    "chat": ("bench.chat_turn", "chat turn latency"),
    "call": ("bench.call_turn", "call turn latency"),
}


def _collector(module: str) -> Callable[[bool], Section]:
    import importlib

    collect: Callable[[bool], Section] = importlib.import_module(module).collect
    return collect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Run every benchmark and print the figures.")
    parser.add_argument("--quick", action="store_true",
                        help="fewer requests, rounds and cycles (targets still apply)")
    parser.add_argument("--only", nargs="+", choices=sorted(PARTS), metavar="PART",
                        help=f"run only these parts: {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    started = time.monotonic()
    header = machine_lines()
    print("\n".join(header), flush=True)
    sections: list[Section] = []
    failed: list[str] = []
    for name, (module, what) in PARTS.items():
        if args.only and name not in args.only:
            continue
        print(f"\n== {name}: {what} ...", flush=True)
        try:
            section = _collector(module)(args.quick)
        except (Exception, SystemExit) as error:  # one broken part must not hide the others
            failed.append(name)
            print(f"!! {name} failed: {error!r}", flush=True)
            traceback.print_exc()
            continue
        sections.append(section)
        print(f"-- {section.title} ({section.seconds:.0f} s)")
        print("\n".join(section.lines), flush=True)
    figures = [figure for section in sections for figure in section.figures]
    print("\n== all figures (ratio = value / baseline, both from this run)")
    print("\n".join(header))
    print("\n".join(figures_table(figures)))
    missed = [figure for figure in figures if figure.met is False]
    if missed:
        print("\ntargets missed:")
        for figure in missed:
            print(f"  {figure.name}: {figure.value:.2f} {figure.unit}, target {figure.target}")
    if failed:
        print(f"\nfailed parts: {', '.join(failed)}")
    print(f"\ntotal run time: {time.monotonic() - started:.0f} s"
          + (" (quick mode)" if args.quick else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
