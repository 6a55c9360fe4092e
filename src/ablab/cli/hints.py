"""'Did you mean ...?' for a misspelt config key or group, instead of Hydra's "+key" advice,
and one line for each config error Hydra would report over several (`explain`)."""
import difflib
import os
import re
import sys

from omegaconf import DictConfig, OmegaConf


def unknown_key(message: str) -> str | None:
    """The key of Hydra's "Could not override 'KEY'" message, if that is the message."""
    found = re.search(r"Could not override '([^']+)'", message)
    return found.group(1) if found else None


def did_you_mean(key: str, conf_dir: str, config_name: str) -> str:
    """One line naming `key` as unknown, with the closest valid names at its level."""
    parent, _, leaf = key.rpartition(".")
    node, below = _keys(conf_dir, config_name, key)
    names = set(node)
    if not parent:  # a top-level name may also be a config group: optimizer=..., data=...
        names |= {d for d in os.listdir(conf_dir) if os.path.isdir(os.path.join(conf_dir, d))}
        names.discard("hydra")
    close = difflib.get_close_matches(leaf, sorted(names), n=3, cutoff=0.6)
    prefix = parent + "." if parent else ""
    # The key one level down, in a group (max_epochs=5 for trainer.max_epochs=5).
    nested = [f"{prefix}{child}.{leaf}" for child, keys in below.items() if leaf in keys]
    if close or nested:
        hint = "; did you mean " + " or ".join([prefix + c for c in close] + nested) + "?"
    else:
        hint = f"; {repr(parent) if parent else 'the config'} has: {', '.join(sorted(names)[:12])}" if names else ""
    return (f"unknown config key or group '{key}'{hint} (+{key}=... adds a key only where ablab passes it on: "
            "an argument of its node's _target_, or a callback of your own)")


def _keys(conf_dir: str, config_name: str, failed: str) -> tuple[list[str], dict[str, list[str]]]:
    """Keys beside `failed` in the config the user composed, less the override that failed,
    and the keys of each of those that is itself a node."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    parent = failed.rpartition(".")[0]
    overrides = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-") and _key_of(a) != failed]
    try:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=overrides)
    except Exception:  # another override is wrong too: fall back to the defaults
        try:
            GlobalHydra.instance().clear()
            with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
                cfg = compose(config_name=config_name)
        except Exception:
            return [], {}
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if not isinstance(node, DictConfig):
        return [], {}
    # items_ex(resolve=False): trainer.default_root_dir is ${hydra:...}, unresolvable outside a run
    below = {str(k): [str(c) for c in v.keys()] for k, v in node.items_ex(resolve=False) if isinstance(v, DictConfig)}
    return [str(k) for k in node.keys()], below


def _key_of(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def explain(exc: Exception, config_name: str | None = None) -> str:
    """One line for a Hydra or OmegaConf error about the config: which option or key is unknown
    (and what exists), which mandatory value is unset."""
    from hydra.errors import MissingConfigException
    from omegaconf.errors import MissingMandatoryValue

    from ablab.paths import CONF_DIR

    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        return f"unknown {group} '{name}'; choose one of: {', '.join(sorted(exc.options))}"
    if isinstance(exc, MissingMandatoryValue):
        key = getattr(exc, "full_key", None) or str(exc).split(":")[-1].strip()
        return f"{key} must be set, e.g. {key}=<value>"
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = text.split(" Config search path:")[0].split(" full_key:")[0]
    if key := unknown_key(text):
        return did_you_mean(key, CONF_DIR, config_name or "train")
    return text
