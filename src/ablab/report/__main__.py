"""CLI: `python -m ablab.report multirun/<date>/<time>` / `ablab-report <sweep dir>`.

Writes report.md, report.html (the same, self-contained: figures embedded, printable),
report.csv, report.png and one curves_<factor>.png per factor into the sweep directory and
prints the markdown. Bad input ends in one line on stderr
(`ablab: error: ...`) and exit code 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from ablab.errors import USER_ERROR, say
from ablab.report.collect import Run, collect
from ablab.report.factor_curves import write_curves
from ablab.report.plot import write_plot
from ablab.report.html import write_html
from ablab.report.render import Power, markdown, portable, write_csv
from ablab.report.stats import ALPHA, CORRECTIONS
from ablab.report.table import build_table

SHOWN_METRICS = 8  # metrics listed when --metric names none the jobs have


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="ablab-report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a Hydra sweep directory (multirun/<date>/<time>)")
    parser.add_argument("--metric", default=None,
                        help="results.json path that the verdicts test and the plot shows (default: the sweep's "
                             "selection metric, hydra.sweeper.metric when recorded, else val.acc)")
    parser.add_argument("--mode", choices=("max", "min"), default=None,
                        help="max (default) or min; the sweep's hydra.sweeper.mode for its own metric")
    parser.add_argument("--alpha", type=float, default=None,
                        help="error rate of the whole report (default: the sweep's hydra.sweeper.alpha, else 0.05)")
    parser.add_argument("--correction", choices=CORRECTIONS, default=None,
                        help="over the report's comparisons: holm (family-wise error, the default), bh "
                             "(Benjamini-Hochberg, false discovery rate) or none")
    parser.add_argument("--min-effect", type=float, default=None,
                        help="smallest effect of interest δ, in points (0.01 of the metric; default 0.5): "
                             "inside ±δ is equivalent; also sizes the seed count")
    parser.add_argument("--assumed-std", type=float, default=0.5,
                        help="seed-to-seed std in points, assumed when no configuration ran twice")
    args = parser.parse_args(argv)

    sweep = args.sweep_dir
    if not sweep.is_dir():
        return _fail(f"no such sweep directory: {sweep}")
    recorded = _sweeper(sweep)
    args.metric = args.metric or recorded.get("metric") or "val.acc"
    args.mode = args.mode or (recorded.get("mode") if args.metric == recorded.get("metric") else None) or "max"
    args.alpha = args.alpha if args.alpha is not None else float(recorded.get("alpha", ALPHA))
    args.correction = args.correction or recorded.get("correction") or "holm"
    args.min_effect = args.min_effect if args.min_effect is not None else float(recorded.get("min_effect", 0.5))
    if args.correction not in CORRECTIONS:
        return _fail(f"--correction must be one of {', '.join(CORRECTIONS)}")
    if not 0 < args.alpha < 1 or args.min_effect <= 0 or args.assumed_std <= 0:
        return _fail("--alpha must lie in (0, 1), --min-effect and --assumed-std must be > 0")
    runs = collect(sweep)
    if not runs:
        return _fail(f"no jobs in {sweep} (no results.json or .hydra/overrides.yaml below it)")
    missing = _missing_metric(runs, args.metric)
    if missing:
        return _fail(missing)
    auto = read_auto(sweep)
    table = build_table(runs, args.metric, args.mode, args.alpha, defaults_of(sweep), args.correction,
                        args.min_effect / 100, (int(auto["min_seeds"]), int(auto["max_seeds"])) if auto else None)
    table.auto = auto
    dataset = dataset_of(sweep)
    figures = write_curves(table, sweep, dataset)
    plotted = write_plot(table, sweep / "report.png", dataset)
    text = markdown(table, sweep_title(sweep), Power(args.min_effect / 100, args.assumed_std / 100), figures,
                    forest="report.png" if plotted else None)
    (sweep / "report.md").write_text(text)
    write_html(text, sweep, f"Sweep report: {sweep.resolve().name}" + (f" on {dataset}" if dataset else ""))
    write_csv(table, sweep / "report.csv")
    print(text)
    written = ["report.md", "report.html", "report.csv"] + (["report.png"] if plotted else []) + list(figures.values())
    print(f"wrote {', '.join(written)} in {sweep}" + ("" if plotted else f" (no {args.metric} to plot yet)"))
    return 0


def _numbers(tree: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the numbers in a results.json (lists such as history left out)."""
    if not isinstance(tree, dict):
        return []
    found = []
    for key, value in tree.items():
        if isinstance(value, dict):
            found += _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append(f"{prefix}{key}")
    return found


def _missing_metric(runs: list[Run], metric: str) -> Optional[str]:
    """An error when finished jobs exist and none recorded `metric` (a typo, not a running sweep)."""
    if any(run.value(metric) is not None for run in runs):
        return None
    finished = [run for run in runs if run.status == "completed"]
    if not finished:
        return None  # nothing to know the metrics by yet: report what is there
    known = list(dict.fromkeys(p for run in finished for p in _numbers(run.results)))
    splits = [p for p in known if p.startswith(("val.", "test."))] + [p for p in known if "." not in p]
    shown = ", ".join(splits[:SHOWN_METRICS]) + (", ..." if len(splits) > SHOWN_METRICS else "")
    return f"no job has --metric {metric} in its results.json; available: {shown}"


def sweep_title(sweep: Path) -> str:
    """The sweep as the command that ran it (from its multirun.yaml), without where it wrote:
    `train.py -m optimizer=sgd,adam model=mlp` (sweep 12-00-00); else the folder's name."""
    try:
        from omegaconf import OmegaConf

        overrides = OmegaConf.load(sweep / "multirun.yaml").hydra.overrides
        typed = [str(o) for o in [*overrides.hydra, *overrides.task]]
    except Exception:  # no or an unreadable multirun.yaml: the folder names it
        return f"`{sweep.resolve().name}`"
    shown = [portable(o) for o in typed if not o.startswith(("hydra.sweep.dir=", "hydra.run.dir=", "hydra.mode="))]
    on = f"{dataset_of(sweep)}: " if dataset_of(sweep) else ""
    return f"{on}`train.py -m {' '.join(shown)}` (sweep {sweep.resolve().name})"


def dataset_of(sweep: Path) -> str:
    """The sweep's dataset as its config group names it (`mnist_sample`, `emnist`), from its
    multirun.yaml; several when the sweep varies it; "" when unknown."""
    try:
        from omegaconf import OmegaConf

        from ablab.run.names import swept_values

        config = OmegaConf.load(sweep / "multirun.yaml")
        swept = swept_values(config.hydra.overrides.task).get("data")
        return ", ".join(swept) if swept else str(config.hydra.runtime.choices.get("data") or "")
    except Exception:  # no or an unreadable multirun.yaml
        return ""


def defaults_of(sweep: Path) -> Optional[Callable[[str], Any]]:
    """Each key's default from the sweep's multirun.yaml (Hydra saves it, sweep values not applied)."""
    path = sweep / "multirun.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    from ablab.report.defaults import baseline_lookup

    try:
        return baseline_lookup(OmegaConf.load(path))
    except Exception:  # an unreadable multirun.yaml costs the grid its reference, not the report
        return None


AUTO_FILE = "seed_auto.yaml"  # what seed=auto wrote into the sweep dir (hydra_plugins/ablab_sweepers)


def read_auto(sweep: Path) -> Optional[dict]:
    """seed=auto's record: min_seeds, max_seeds and its rounds; None for a sweep with fixed seeds."""
    import yaml

    path = Path(sweep) / AUTO_FILE
    try:
        loaded = yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(loaded, dict) or not {"min_seeds", "max_seeds"} <= set(loaded):
        return None
    return loaded


def _sweeper(sweep: Path) -> dict:
    """What the OFAT sweeper decided with (metric, mode, alpha, correction, min_effect), from multirun.yaml."""
    path = sweep / "multirun.yaml"
    if not path.is_file():
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text()) or {}
        conf = loaded["hydra"]["sweeper"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return {}
    if not isinstance(conf, dict) or "ofat_sweeper" not in str(conf.get("_target_", "")):
        return {}
    return {k: conf[k] for k in ("metric", "mode", "alpha", "correction", "min_effect") if conf.get(k) is not None}


def _fail(message: str) -> int:
    say(message)
    return USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
