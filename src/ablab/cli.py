"""Hydra entry points that turn user mistakes into one line on stderr and exit code 2.

Hydra prints configuration errors over several lines with a hint about stack traces,
and exits 1. ablab's entry points ask Hydra to raise instead (HYDRA_FULL_ERROR) and
report the mistake itself: which option is unknown and which ones exist, which key
does not exist, which value is out of range.

In a sweep (-m) a job's error fails that job only: Hydra records it and runs the next
one, and the sweep ends with one line counting the failed jobs (ablab.sweeps.outcome).
"""
import functools
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from ablab.errors import UserError
from ablab.sweeps import outcome

CONF_DIR = str(Path(__file__).resolve().parents[2] / "conf")


def fail(message: str) -> None:
    print(f"ablab: error: {message}", file=sys.stderr)
    sys.exit(2)


def explain(exc: Exception) -> str:
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        return f"unknown {group} '{name}'; choose one of: {', '.join(sorted(exc.options))}"
    if isinstance(exc, MissingMandatoryValue):
        key = getattr(exc, "full_key", None) or str(exc).split(":")[-1].strip()
        return f"{key} must be set, e.g. {key}=<value>"
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    text = text.split(" Config search path:")[0].split(" full_key:")[0]
    if "Key '" in text and "is not in struct" in text:
        key = text.split("Key '")[1].split("'")[0]
        return f"unknown config key '{key}' ({text.split('.')[0]}); use +{key}=... only to add a new key on purpose"
    return text


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def hydra_entry(config_name: str):
    """Like @hydra.main on conf/<config_name>.yaml, with one-line errors and exit code 2."""

    def wrap(task):
        @functools.wraps(task)
        def task_with_user_errors(cfg):
            try:
                return task(cfg)
            except (UserError, OmegaConfBaseException) as exc:  # e.g. a mandatory ??? value left unset
                message = str(exc) if isinstance(exc, UserError) else explain(exc)
                if not in_sweep():
                    fail(message)
                outcome.job_failed(HydraConfig.get().runtime.output_dir, message)
                raise  # in a sweep, Hydra records the job as failed and runs the next one
            except Exception as exc:
                if in_sweep():
                    outcome.job_failed(HydraConfig.get().runtime.output_dir, f"{type(exc).__name__}: {exc}", exc)
                raise

        main = hydra.main(version_base="1.3", config_path=CONF_DIR, config_name=config_name)(task_with_user_errors)

        @functools.wraps(task)
        def entry():
            os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # we print errors ourselves, in one line
            try:
                main()
            except KeyboardInterrupt:
                outcome.interrupted()
                sys.exit(130)
            except SystemExit as exc:
                if exc.code == 1:  # Lightning's exit after Ctrl-C during fit
                    outcome.interrupted()
                raise
            except Exception as exc:
                code = outcome.finish(raised=exc)  # a sweep whose jobs failed: one line naming them
                if code is not None:
                    sys.exit(code)
                if isinstance(exc, (ConfigCompositionException, OverrideParseException, OmegaConfBaseException)):
                    fail(explain(exc))
                if isinstance(exc, UserError):
                    fail(str(exc))
                raise
            code = outcome.finish()  # a sweep: how many jobs completed, failed, diverged
            if code:
                sys.exit(code)

        return entry

    return wrap
