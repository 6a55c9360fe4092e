"""Keys a user adds (`+key=...`, `++key=...`, or an experiment file) are refused unless ablab
reads them: a misspelt `+trainer.max_epoch=5` or `+optimizer.momentun=0.9` would otherwise
train with the value silently unused.

An added key is one the config composed from the same group choices, without the added
keys and the experiment file, does not have. ablab reads it when
- another option of its config group has it (`regularizer.strength` set by a study for a
  sweep of `regularizer=none,l1,l2`: the options with a penalty read it); or
- it is an argument of the object its node builds: the node's `_target_` takes it by name
  (`+trainer.accumulate_grad_batches=4`: Lightning's Trainer has that argument;
  `+optimizer.foreach=false`: torch.optim's), found in the signature of the target (a class's
  `__init__`, up its bases while they pass on `**kwargs`); or
- it is in the one open namespace, `callbacks`: `+callbacks.<name>._target_=my.Callback`
  adds a Lightning callback of the user's own to every run (ablab.run.callbacks instantiates
  each entry), and its keys are then checked against that callback's signature.
Anything else is one line naming the key, where it came from and its nearest known keys.
Only a config with an added key pays the extra composition (~0.15 s) and the import of the
targets concerned (Lightning's Trainer ~2 s); a plain run pays nothing.
"""
from __future__ import annotations

import difflib
import inspect
from pathlib import Path
from typing import Iterable, Optional, Sequence

from omegaconf import DictConfig, OmegaConf

from ablab.errors import UserError

OPEN = ("callbacks",)  # a new entry here is a Lightning callback of the user's own (its `_target_`)
SPECIAL = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")  # Hydra's instantiate keys


def refuse_added(config: DictConfig, config_name: str) -> None:
    """Raise UserError at the first key of the composed `config` (with its hydra node) that an
    override or experiment file added and ablab does not read."""
    task = [str(o) for o in config.hydra.overrides.task]
    choices = {str(k): v for k, v in config.hydra.runtime.choices.items()}
    experiment = choices.get("experiment")
    if not experiment and not any(o.startswith("+") for o in task):
        return  # nothing was added: a plain run pays nothing
    from hydra import compose

    searchpath = [str(o) for o in config.hydra.overrides.hydra if _key_of(str(o)) == "hydra.searchpath"]
    try:  # the same group choices (a user's own options found where the run found them), nothing added
        reference = compose(config_name, searchpath + [f"{group}={choice}" for group, choice in choices.items()
                                                       if choice is not None and group not in ("experiment", "hydra")
                                                       and not group.startswith("hydra/")])
    except Exception:  # a composition this cannot repeat: the keys stay unchecked, as before the check
        return
    for key in added(config, reference):
        check(config, key, _given(key, task) or (f"experiment={experiment}" if experiment else None), task)


def added(cfg: DictConfig, reference: DictConfig, prefix: str = "") -> list[str]:
    """Keys of `cfg` that `reference` lacks, each at the first level it lacks (a new node's
    own keys are the node's); the hydra node is Hydra's, and a value that replaced a null or a
    value (data.longtail={...}) is a value, not new keys."""
    found = []
    for key in cfg.keys():
        key = str(key)
        if not prefix and key == "hydra":
            continue
        if key not in reference:
            found.append(prefix + key)
            continue
        mine, theirs = cfg._get_node(key), reference._get_node(key)
        if isinstance(mine, DictConfig) and isinstance(theirs, DictConfig) and not theirs._is_none():
            if not mine._is_none():
                found += added(mine, theirs, f"{prefix}{key}.")
    return found


def check(cfg: DictConfig, key: str, given: Optional[str], overrides: Sequence[str] = ()) -> None:
    """Raise UserError unless ablab reads the added `key` of `cfg` (see the module's rules);
    `given` says where it came from (an override, an experiment), `overrides` the command's."""
    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
    if parent_key in OPEN:
        node = parent._get_node(leaf)
        if isinstance(node, DictConfig) and node._is_none():
            return
        if not isinstance(node, DictConfig) or "_target_" not in node:
            raise UserError(f"{key}{_from(given)}: a callback needs a _target_, e.g. "
                            f"+{key}._target_=my_package.MyCallback (a Lightning Callback)")
        for child in node.keys():
            if str(child) not in SPECIAL:
                check(cfg, f"{key}.{child}", _given(f"{key}.{child}", overrides) or given, overrides)
        return
    target = parent.get("_target_") if isinstance(parent, DictConfig) else None
    if leaf in SPECIAL and (target is not None or parent_key.rpartition(".")[0] in OPEN):
        return
    params = parameters(str(target)) if target is not None else set()
    if params is None or leaf in params or leaf in group_keys(parent_key):
        return
    known = [str(k) for k in parent.keys() if str(k) not in (leaf, "hydra") and str(k) not in SPECIAL] + sorted(params or ())
    raise UserError(f"unknown config key '{key}'{_from(given)}: ablab does not read it"
                    + _nearest(leaf, parent_key, known, cfg if not parent_key else None, target))


def group_keys(group: str) -> set[str]:
    """The keys any option of config group `group` sets (conf/<group>/*.yaml): one a shared
    file sets for the whole group (an experiment's `regularizer.strength`, swept over
    `regularizer=none,l1,l2`) is the group's vocabulary, read by the options that have it."""
    import yaml

    from ablab.paths import CONF_DIR

    folder = Path(CONF_DIR) / group
    if not group or "." in group or not folder.is_dir():
        return set()
    found: set[str] = set()
    for option in folder.glob("*.yaml"):
        loaded = yaml.safe_load(option.read_text()) or {}
        found |= {str(k) for k in loaded if k != "defaults"} if isinstance(loaded, dict) else set()
    return found


def parameters(target: str) -> Optional[set[str]]:
    """The argument names `target` takes by name, or None when it takes any (**kwargs all the
    way up) or cannot be imported here (instantiating it will say why)."""
    from hydra.utils import get_object

    try:
        obj = get_object(target)
    except Exception:
        return None
    names: set[str] = set()
    functions = [k.__dict__["__init__"] for k in obj.__mro__ if "__init__" in k.__dict__] if inspect.isclass(obj) else [obj]
    for function in functions:
        try:
            found = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in found if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
        if not any(p.kind == p.VAR_KEYWORD for p in found):
            return names
    return None


def _nearest(leaf: str, parent_key: str, known: Iterable[str], top: Optional[DictConfig], target) -> str:
    prefix = parent_key + "." if parent_key else ""
    close = [prefix + c for c in difflib.get_close_matches(leaf, sorted(set(known)), n=3, cutoff=0.6)]
    if top is not None:  # a group's key given at the top: max_epochs for trainer.max_epochs
        close += [f"{k}.{leaf}" for k in top.keys() if isinstance(top.get(k), DictConfig) and leaf in top[k]]
    if close:
        return "; did you mean " + " or ".join(close) + "?"
    where = f"{parent_key!r} ({target})" if target else repr(parent_key) if parent_key else "the config"
    return f"; {where} has: {', '.join(sorted(set(known))[:12])}"


def _from(given: Optional[str]) -> str:
    return f" (from {given})" if given else ""


def _given(key: str, overrides: Sequence[str]) -> Optional[str]:
    """The override that added `key` (or a key below it)."""
    return next((o for o in overrides if _key_of(o) == key or _key_of(o).startswith(key + ".")), None)


def _key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")
