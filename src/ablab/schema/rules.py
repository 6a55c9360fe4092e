"""The vocabulary of a config group's schema: what a value may be, said the way an error line says it.

A `Rule` is a test and the words for what it allows ("a number > 0"); a `Schema` is a
group's rules by key, the rules only some options take (keyed by the option's
`_target_`), and the checks that look at more than one value. Everything here is plain
Python on OmegaConf nodes, so checking a config needs no torch and takes milliseconds.
"""
from collections.abc import Callable
from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError


@dataclass(frozen=True)
class Rule:
    ok: Callable[[object], bool]
    allowed: str  # completes "must be ...": "a number > 0"


@dataclass(frozen=True)
class Schema:
    """The checks of one config group, applied to its node (`cfg.<group>`)."""

    keys: dict[str, Rule] = field(default_factory=dict)  # dotted keys within the node; null is always allowed
    targets: dict[str, dict[str, Rule]] = field(default_factory=dict)  # keys of the options with this _target_
    checks: tuple[Callable[[DictConfig], None], ...] = ()  # on the whole config: values that depend on others

    def check_node(self, node: DictConfig, prefix: str) -> None:
        rules = {**self.keys, **self.targets.get(str(node.get("_target_")), {})}
        for key, rule in rules.items():
            value = plain(OmegaConf.select(node, key, default=None))
            if value is not None and not rule.ok(value):
                raise not_allowed(f"{prefix}{key}", value, rule.allowed)


def plain(value):
    """A node's value as Python (lists and dicts instead of ListConfig / DictConfig)."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def not_allowed(key: str, value, allowed: str) -> UserError:
    return UserError(f"{key}={value!r} is not allowed: must be {allowed}")


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_integer(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _bounds(gt, ge, lt, le) -> str:
    low = f"({gt}" if gt is not None else f"[{ge}" if ge is not None else None
    high = f"{lt})" if lt is not None else f"{le}]" if le is not None else None
    if low and high:
        return f" in {low}, {high}"
    if low:
        return f" > {gt}" if gt is not None else f" >= {ge}"
    if high:
        return f" < {lt}" if lt is not None else f" <= {le}"
    return ""


def _within(v, gt, ge, lt, le) -> bool:
    return ((gt is None or v > gt) and (ge is None or v >= ge) and (lt is None or v < lt) and (le is None or v <= le))


def number(*, gt=None, ge=None, lt=None, le=None, allowed: str | None = None) -> Rule:
    return Rule(lambda v: is_number(v) and _within(v, gt, ge, lt, le), allowed or "a number" + _bounds(gt, ge, lt, le))


def integer(*, gt=None, ge=None, lt=None, le=None, allowed: str | None = None) -> Rule:
    return Rule(lambda v: is_integer(v) and _within(v, gt, ge, lt, le), allowed or "an integer" + _bounds(gt, ge, lt, le))


def one_of(*choices, allowed: str | None = None) -> Rule:
    # Compared as text: Hydra hands `trainer.precision=16` over as the int 16, YAML `depth: 18` as an int.
    names = [str(c) for c in choices]
    return Rule(lambda v: not isinstance(v, (bool, list, dict)) and str(v) in names, allowed or f"one of {', '.join(names)}")


def boolean() -> Rule:
    return Rule(lambda v: isinstance(v, bool), "true or false")


def list_of(rule: Rule, allowed: str) -> Rule:
    return Rule(lambda v: isinstance(v, list) and all(rule.ok(x) for x in v), allowed)


def either(*rules: Rule, allowed: str) -> Rule:
    return Rule(lambda v: any(r.ok(v) for r in rules), allowed)


def required(group: str, target: str, *keys: str) -> Callable[[DictConfig], None]:
    """A check that the option `target` of hydra/<group> has a value for each key: a Schema
    allows null everywhere, but some plugins cannot run without these (int(None) fails in them)."""

    def check(cfg: DictConfig) -> None:
        node = cfg.hydra.get(group)
        if node is None or str(node.get("_target_")) != target:
            return
        for key in keys:
            if OmegaConf.select(node, key, default=None) is None:
                raise not_allowed(f"hydra.{group}.{key}", None, "set: null has no meaning here")

    return check
