"""Read a study from conf/study/<name>.yaml at one scale.

The file holds the study's stages and tables, plus one block per scale (`paper`, `quick`)
with the overrides every job of that scale gets (`every_job`) and values the stages
interpolate (`vars`, e.g. `trainer.max_epochs=${vars.coarse_epochs}`). The study's
baseline configuration is an ordinary experiment config (conf/experiment/), named in
`every_job`, so every stage is a plain train.py sweep on top of it.
"""
from __future__ import annotations

import difflib

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ablab.errors import UserError

SWEEPERS = ("grid", "ofat", "greedy")
STAGE_KEYS = {"name", "about", "sweeper", "with", "sweep", "carry", "predict"}


@dataclass
class Stage:
    name: str
    about: str
    sweeper: str  # grid | ofat | greedy
    overrides: list[str]  # every job of the stage (after the study's every_job)
    sweep: dict[str, str]  # key -> comma-separated values, in order (Hydra's sweep syntax)
    carry: list[str]  # earlier stages whose winning overrides this stage starts from
    predict: Optional[dict[str, Any]] = None  # {input: csv or null} for a prediction stage
    auto_seeds: bool = False  # `ablab-study --seeds auto`: the OFAT sweeper picks the seeds (seed=auto)


@dataclass
class Study:
    name: str
    title: str
    asks: str
    scale: str
    metric: str  # results.json path that picks a stage's winner
    mode: str
    every_job: list[str]
    stages: list[Stage]
    tables: list[dict[str, Any]] = field(default_factory=list)

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def study_dir() -> Path:
    from ablab.paths import CONF_DIR

    return Path(CONF_DIR) / "study"


def available() -> list[str]:
    return sorted(p.stem for p in study_dir().glob("*.yaml"))


def load(name: str, scale: str = "quick", variables: Optional[dict[str, str]] = None) -> Study:
    """The study at `scale`; `variables` (from `vars.KEY=VALUE` on the command line) replace
    the scale's vars, e.g. vars.test_csv=/data/test.csv."""
    path = study_dir() / f"{name}.yaml"
    if not path.is_file():
        near = difflib.get_close_matches(name, available(), n=1, cutoff=0.6)
        hint = f"did you mean {near[0]}? " if near else ""
        raise UserError(f"unknown study '{name}'; {hint}choose one of: {', '.join(available())}")
    raw = OmegaConf.load(path)
    scales = raw.get("scales") or {}
    if scale not in scales:
        raise UserError(f"study {name}: unknown scale '{scale}'; choose one of: {', '.join(scales)}")
    chosen = scales[scale]
    raw.vars = chosen.get("vars") or {}
    for key, value in (variables or {}).items():
        if key not in raw.vars:
            raise UserError(f"study {name}: vars.{key} is not a variable of its {scale} scale; "
                            f"it has: {', '.join(raw.vars) or 'none'}")
        raw.vars[key] = yaml.safe_load(value)
    try:
        OmegaConf.resolve(raw)
    except OmegaConfBaseException as exc:
        raise UserError(f"study {name}: {str(exc).splitlines()[0]}") from None
    stages = [_stage(name, s) for s in raw.stages]
    known = set()
    for s in stages:
        if s.name in known:
            raise UserError(f"study {name}: two stages are called {s.name}")
        if missing := [c for c in s.carry if c not in known]:
            raise UserError(f"study {name}: stage {s.name} carries {missing}, which no earlier stage is called")
        known.add(s.name)
    for table in raw.get("tables") or []:
        named = table.get("stages") or []
        if table.get("kind", "rows") not in ("rows", "greedy", "final"):
            raise UserError(f"study {name}: table {table.get('title')}: kind must be rows, greedy or final")
        if missing := [s for s in (named.values() if isinstance(named, DictConfig) else named) if s not in known]:
            raise UserError(f"study {name}: table {table.get('title')} names unknown stage(s) {missing}")
    return Study(
        name=name, title=str(raw.get("title", name)), asks=str(raw.get("asks", "")).strip(), scale=scale,
        metric=str(raw.get("metric", "val.acc")), mode=str(raw.get("mode", "max")),
        every_job=_launcher(chosen.get("launcher", raw.get("launcher"))) + _strings(raw.get("every_job"))
        + _strings(chosen.get("every_job")),
        stages=stages, tables=OmegaConf.to_container(raw.get("tables") or ListConfig([]))  # type: ignore[arg-type]
    )


def _launcher(name: Any) -> list[str]:
    """`launcher: fused` (the study's, or one scale's): how every stage runs its jobs, as
    `hydra/launcher=fused` on the command line would say; the command line's own wins."""
    return [f"hydra/launcher={name}"] if name else []


def _stage(study: str, node: DictConfig) -> Stage:
    unknown = set(node) - STAGE_KEYS
    if unknown:
        raise UserError(f"study {study}: stage {node.get('name')} has unknown key(s) {sorted(unknown)}")
    sweeper = str(node.get("sweeper", "grid"))
    if sweeper not in SWEEPERS:
        raise UserError(f"study {study}: stage {node.name}: sweeper={sweeper} is not one of {', '.join(SWEEPERS)}")
    sweep = {str(k): _values(v) for k, v in (node.get("sweep") or {}).items()}
    return Stage(name=str(node.name), about=str(node.get("about", "")).strip(), sweeper=sweeper,
                 overrides=_strings(node.get("with")), sweep=sweep, carry=_strings(node.get("carry")),
                 predict=OmegaConf.to_container(node.predict) if node.get("predict") is not None else None)


def _values(v: Any) -> str:
    # `dropout: [0.5, 0.1, 0]` and `dropout: 0.5,0.1,0` both mean Hydra's `dropout=0.5,0.1,0`.
    if isinstance(v, ListConfig):
        return ",".join(_text(x) for x in v)
    return str(v)


def _text(x: Any) -> str:
    if isinstance(x, ListConfig):
        return "[" + ",".join(_text(i) for i in x) + "]"
    return str(x)


def _strings(v: Any) -> list[str]:
    """A list of overrides; nested lists (a YAML anchor of several overrides) flattened."""
    if not v:
        return []
    if isinstance(v, (ListConfig, list)):
        return [s for x in v for s in _strings(x)]
    return [str(v)]
