"""Find the jobs of a sweep directory and read what each one recorded.

Only the run contract is read: a job's results.json, or for a job that has not
written one yet its .hydra/overrides.yaml (it is listed as running).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml


@dataclass
class Run:
    path: Path  # the job directory
    status: str  # completed | failed | diverged | pruned | interrupted | running | unreadable
    overrides: list[str]
    results: dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None

    def value(self, path: str) -> Optional[float]:
        """A number at a dotted path ("test.acc", "wall_s"); None when absent, null or not finite (a
        NaN is no measurement: averaged or fitted, it would turn every statistic it enters into NaN)."""
        node: Any = self.results
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, (int, float)) or isinstance(node, bool) or not math.isfinite(node):
            return None
        return float(node)


def _natural(path: Path) -> list:
    # Hydra numbers jobs 0, 1, ... 10: sort 2 before 10.
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _job_dirs(sweep_dir: Path) -> list[Path]:
    found = {p.parent for p in sweep_dir.rglob("results.json")}
    found |= {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    return sorted(found, key=_natural)


def _overrides_yaml(job: Path) -> list[str]:
    try:
        loaded = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return []
    return [str(o) for o in loaded] if isinstance(loaded, list) else []


def read_run(job: Path) -> Run:
    path = job / "results.json"
    if not path.is_file():
        return Run(job, "running", _overrides_yaml(job))
    try:
        results = json.loads(path.read_text())
        assert isinstance(results, dict)
    except (OSError, ValueError, AssertionError) as err:
        return Run(job, "unreadable", _overrides_yaml(job), error=f"results.json: {err}")
    overrides = results.get("overrides")
    if not isinstance(overrides, list):
        overrides = _overrides_yaml(job)
    return Run(job, str(results.get("status") or "unknown"), [str(o) for o in overrides],
               results, results.get("error"))


def collect(sweep_dir: Path) -> list[Run]:
    """Every job under sweep_dir, in job-number order."""
    return [read_run(job) for job in _job_dirs(Path(sweep_dir))]
