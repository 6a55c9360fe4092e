"""Hydra entry points that turn user mistakes into one line on stderr and exit code 2.

Hydra prints configuration errors over several lines with a hint about stack traces,
and exits 1. ablab's entry points ask Hydra to raise instead (HYDRA_FULL_ERROR) and
report the mistake itself: which option is unknown and which ones exist, which key
does not exist, which value is out of range.

The whole config is checked by `CheckConfig` (ablab.cli.check), a Hydra callback, before
Hydra creates the run directory and before torch or Lightning are imported: a wrong value
is answered in about a second and leaves no empty outputs/<date>/<time>/ behind.

In a sweep (-m) a job's error fails that job only: Hydra records it and runs the next
one, and the sweep ends with one line counting the failed jobs (ablab.sweeps.outcome).

Exit codes: 0 done, 1 a failed sweep job (or a bug), 2 a user error, 130 Ctrl-C (SIGINT),
143 SIGTERM (ablab.run.stop: the running jobs end interrupted, nothing new starts).
"""
import functools
import logging
import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException, OverrideParseException
from hydra.types import RunMode
from omegaconf.errors import OmegaConfBaseException

from ablab.cli import quiet
from ablab.cli.check import release_sweep_locks
from ablab.cli.hints import explain
from ablab.errors import FAILED, UserError, fail
from ablab.paths import CONF_DIR, shown
from ablab.run import stop
from ablab.sweeps import outcome


def _traceback_to_log(exc: Exception) -> str | None:
    """Write `exc`'s traceback to the job's log file only (Hydra's <run dir>/<job>.log), not to
    the terminal; return that file as the user would type it, or None when there is none."""
    record = logging.LogRecord("ablab", logging.ERROR, __file__, 0, "run failed", None,
                               (type(exc), exc, exc.__traceback__))
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    for handler in files:
        handler.handle(record)
        handler.flush()
    return shown(files[0].baseFilename) if files else None


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def hydra_entry(config_name: str):
    """Like @hydra.main on conf/<config_name>.yaml, with one-line errors and exit code 2."""

    def wrap(task):
        @functools.wraps(task)
        def task_with_user_errors(cfg):
            stop.check()  # a stop that came in the last job's last moments: no new job starts
            try:
                return task(cfg)
            except (UserError, OmegaConfBaseException) as exc:  # e.g. a mandatory ??? value left unset
                message = str(exc) if isinstance(exc, UserError) else explain(exc)
                if not in_sweep():
                    fail(message)
                outcome.job_failed(HydraConfig.get().runtime.output_dir, message)
                raise  # in a sweep, Hydra records the job as failed and runs the next one
            except Exception as exc:  # a bug, or a mistake no check knows: one line, the traceback in the log
                stop.check()  # a stop signal that surfaced as another error (e.g. inside a checkpoint write)
                where = _traceback_to_log(exc)
                # Shorten the error, never the pointer to its traceback.
                message = outcome.one_line(f"{type(exc).__name__}: {exc}") + (f" (traceback in {where})" if where else "")
                if not in_sweep():
                    fail(message, FAILED)
                outcome.job_failed(HydraConfig.get().runtime.output_dir, message)
                raise

        main = hydra.main(version_base="1.3", config_path=CONF_DIR, config_name=config_name)(task_with_user_errors)

        @functools.wraps(task)
        def entry():
            # Hydra raises instead of printing its own multi-line report (also where the user's
            # environment says HYDRA_FULL_ERROR=0); we print errors ourselves, in one line.
            os.environ["HYDRA_FULL_ERROR"] = "1"
            stop.watch()
            try:
                with quiet.without_hydra_job_errors():  # a failed job has said why in ablab's line
                    main()
            except KeyboardInterrupt:  # Ctrl-C, or stop.Stopped (SIGTERM outside Lightning's loops)
                outcome.interrupted(stop.name())
                sys.exit(stop.exit_code())
            except SystemExit:
                if stop.requested():  # Lightning's sys.exit(1) after Ctrl-C, its SIGTERMException
                    outcome.interrupted(stop.name())
                    sys.exit(stop.exit_code())
                raise
            except Exception as exc:
                code = outcome.finish(raised=exc)  # a sweep whose jobs failed: one line naming them
                if code is not None:
                    sys.exit(code)
                if isinstance(exc, (ConfigCompositionException, OverrideParseException, OmegaConfBaseException)):
                    fail(explain(exc, config_name))
                if isinstance(exc, UserError):
                    fail(str(exc))
                raise
            else:
                code = outcome.finish()  # a sweep: how many jobs completed, failed, diverged
                if code:
                    sys.exit(code)
            finally:
                release_sweep_locks()  # after the sweep's line: it reads the jobs' results

        return entry

    return wrap
