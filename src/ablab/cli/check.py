"""Everything a command can be refused for is found before work starts: `CheckConfig`, a
Hydra callback (conf/hydra/default.yaml), runs before Hydra creates a run or sweep directory.

- A run: the keys it adds (`+key=...`, an experiment file) against those ablab reads
  (ablab.cli.added_keys), its config through the schemas (omegaconf only, no torch: answered in about a
  second), then its output locations (run directory; predict's `output=`) made or found
  writable.
- A sweep, before its first job: the shared config, then every job's values (ablab.sweeps.
  precheck), the sweep directory made writable and locked for this sweep alone (a second
  sweep into it is refused before it changes any file there, multirun.yaml included), then
  every distinct dataset its jobs use found and opened once.

Each refusal is one line on stderr and exit code 2: Hydra turns a callback's exception into
a warning and goes on, so the process is ended here (SystemExit passes through Hydra).
"""
from pathlib import Path

from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf.errors import OmegaConfBaseException

from ablab.errors import UserError, fail
from ablab.paths import remove_if_empty, writable_dir

_held = []  # the sweep-directory locks this process holds (released by ablab.cli.entry)


class CheckConfig(Callback):
    def on_run_start(self, config, config_name=None, **kwargs) -> None:
        _refuse_mistakes(_check_run, config, config_name)

    def on_multirun_start(self, config, config_name=None, **kwargs) -> None:
        _refuse_mistakes(_check_sweep, config, config_name)


def release_sweep_locks() -> None:
    while _held:
        _held.pop().release()


def _refuse_mistakes(check, config, config_name) -> None:
    from ablab.cli.hints import explain

    try:
        check(config, config_name)
    except (UserError, OmegaConfBaseException, HydraException) as exc:  # Hydra's: composing a job's choices
        fail(str(exc) if isinstance(exc, UserError) else explain(exc, config_name))


def _validate(config, config_name) -> bool:
    from ablab.cli.added_keys import refuse_added
    from ablab.schema import CONFIGS, validate  # omegaconf only: no torch

    if config_name not in CONFIGS:
        return False
    refuse_added(config, config_name)  # +key=... and experiment files: only keys ablab reads
    validate(config, config_name)
    return True


def _check_run(config, config_name) -> None:
    if not _validate(config, config_name):
        return
    writable_dir(config.hydra.run.dir, "run directory", "hydra.run.dir=<dir>")
    if config_name == "predict" and config.get("output"):
        writable_dir(Path(str(config.output)).parent, "folder of output", "output=<file>")


def _check_sweep(config, config_name) -> None:
    from ablab.schema import validate_plugins

    validate_plugins(config)  # the sweeper's and launcher's own keys: hydra.sweeper.max_seeds, ...
    from ablab.sweeps.precheck import SEARCH

    if str(config.hydra.sweeper.get("_target_", "")) == SEARCH:
        from ablab.sweeps.search_space import check_space

        check_space(config)  # a search's space: interval(0.5, 0.1) before the study exists
    if config_name == "train" and config.get("seed") == "auto":
        config = _seeds_left_to_the_sweeper(config)
    if not _validate(config, config_name):
        return
    if config_name == "train":
        checked = _check_every_job(config, config_name)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    writable_dir(sweep_dir, "sweep directory", "hydra.sweep.dir=<dir>")
    from ablab.run.lock import RunLock  # one sweep per sweep directory, as one run per run directory

    if str(config.hydra.sweeper.get("_target_", "")) != SEARCH:  # a search's workers share theirs (one study)
        _held.append(RunLock(sweep_dir, what="sweep directory").acquire())
    if config_name == "train":
        from ablab.factors.build import datamodule
        from ablab.sweeps.precheck import open_datasets

        try:
            open_datasets(checked, datamodule)
        except BaseException:
            release_sweep_locks()
            remove_if_empty(sweep_dir)  # refused before any job: leave no empty sweep behind
            raise


def _seeds_left_to_the_sweeper(config):
    """seed=auto: the OFAT sweeper picks the seeds (ablab.sweeps.auto); checked as seed 0."""
    from omegaconf import open_dict

    from ablab.sweeps.precheck import OFAT

    if str(config.hydra.sweeper.get("_target_", "")) != OFAT:
        raise UserError("seed=auto needs the OFAT sweeper: add hydra/sweeper=ofat (see docs/sweeps-and-reports.md)")
    config = config.copy()
    with open_dict(config):
        config.seed = 0
        config.hydra.overrides.task = ["seed=0" if o == "seed=auto" else o for o in config.hydra.overrides.task]
    return config


def _check_every_job(config, config_name):
    from hydra import compose
    from hydra.core.global_hydra import GlobalHydra

    from ablab.cli import added_keys, hints
    from ablab.paths import CONF_DIR
    from ablab.schema import validate
    from ablab.sweeps.precheck import UnknownKey, check_jobs, planned_jobs

    loader = GlobalHydra.instance().config_loader()
    groups: dict[str, bool] = {}

    def is_group(key: str) -> bool:
        if key not in groups:
            groups[key] = bool(loader.get_group_options(key.lstrip("+~")))
        return groups[key]

    def composed(overrides):
        return compose(config_name, overrides)  # no hydra node: a tenth of the size to copy per job

    try:
        return check_jobs(planned_jobs(config), composed, lambda cfg: validate(cfg, config_name), is_group,
                          added_keys.check)
    except UnknownKey as exc:
        raise UserError(hints.did_you_mean(exc.key, CONF_DIR, config_name)) from None
