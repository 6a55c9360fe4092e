"""The private parts of Lightning, Hydra, OmegaConf, TensorBoard and joblib that ablab reads, in one place.

Each has no public equivalent in the versions in TESTED; tests/test_upstream.py runs every one
against the installed libraries and fails when one moves or changes, and when a library's
version leaves the tested line (then re-check this list and update TESTED).
"""
from __future__ import annotations

# library -> the major.minor line these were checked against
TESTED = {"pytorch_lightning": "2.6", "hydra": "1.3", "omegaconf": "2.3", "tensorboard": "2.21", "joblib": "1.6"}

# ---- Lightning ----
# What Lightning's own ModelCheckpoint reads of its trainer under a private name: a fused
# member's trainer view (ablab.fused.members) forwards it from the group's trainer.
MODEL_CHECKPOINT_READS = frozenset({"_val_check_time_interval"})


def loops_state(trainer) -> dict:
    """The loops' progress as Lightning puts it in a checkpoint (its "loops" entry): a fused
    member's checkpoint carries its group's, so it resumes as its separate run would."""
    return trainer._checkpoint_connector._get_loops_state_dict()


def at_epochs_last_batch(trainer) -> bool:
    """Whether the batch just trained is its epoch's last: where Lightning steps a schedule
    whose interval is "epoch" (a fused group steps its members' there)."""
    return trainer.fit_loop.epoch_loop._num_ready_batches_reached()


def saves_within_epochs(checkpoint) -> bool:
    """Whether a ModelCheckpoint may save after a training batch (every_n_train_steps or
    train_time_interval set); otherwise its per-batch hook only decides not to."""
    return checkpoint._every_n_train_steps >= 1 or checkpoint._train_time_interval is not None


# ---- TensorBoard ----
def file_writer(summary_writer):
    """The SummaryWriter's event-file writer (None on a DDP rank that writes nothing): summaries
    ablab encodes itself (HParams sessions, PNG images) go in as protobufs through it, as
    SummaryWriter's own add_* methods do last (it reopens a closed writer)."""
    return summary_writer._get_file_writer()


# ---- Hydra ----
# Hydra's basic sweeper and launcher: their module paths are under hydra._internal.
BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
BASIC_LAUNCHER_LOGGER = "hydra._internal.core_plugins.basic_launcher"  # its log lines, remade per job


def basic_sweeper():
    """Hydra's BasicSweeper class (its `split_arguments` lists a basic sweep's jobs)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    return BasicSweeper


# ---- OmegaConf ----
def node_of(parent, key: str):
    """The node under `key` of a DictConfig, interpolations unresolved."""
    return parent._get_node(key)


def value_as_written(node):
    """A value node's value as written: "${...}" stays a string."""
    return node._value()


# ---- joblib (loky) ----
def worker_pids(executor) -> list[int]:
    """The process ids of a loky ProcessPoolExecutor's live workers (it keeps them by pid and
    replaces one that died): the devices launcher sends a stop signal on to them."""
    return list(getattr(executor, "_processes", {}))
