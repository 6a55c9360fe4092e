"""CLI: `python -m ablab.report multirun/<date>/<time>` / `ablab-report <sweep dir>`.

Writes report.md, report.csv and report.png into the sweep directory and prints the
markdown table. Bad input ends in one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Sequence

from ablab.report.collect import collect
from ablab.report.plot import write_plot
from ablab.report.render import markdown, write_csv
from ablab.report.table import build_table


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ablab-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a Hydra sweep directory (multirun/<date>/<time>)")
    parser.add_argument("--metric", default="test.acc",
                        help="results.json path that picks each factor's best value and is plotted")
    parser.add_argument("--mode", choices=("max", "min"), default="max")
    args = parser.parse_args(argv)

    sweep = args.sweep_dir
    if not sweep.is_dir():
        return _fail(f"no such sweep directory: {sweep}")
    runs = collect(sweep)
    if not runs:
        return _fail(f"no jobs in {sweep} (no results.json or .hydra/overrides.yaml below it)")
    table = build_table(runs, args.metric, args.mode)
    text = markdown(table, str(sweep))
    (sweep / "report.md").write_text(text)
    write_csv(table, sweep / "report.csv")
    plotted = write_plot(table, sweep / "report.png")
    print(text)
    written = ["report.md", "report.csv"] + (["report.png"] if plotted else [])
    print(f"wrote {', '.join(written)} in {sweep}" + ("" if plotted else f" (no {args.metric} to plot yet)"))
    return 0


def _fail(message: str) -> int:
    print(f"ablab-report: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
