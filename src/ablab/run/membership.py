"""Whether the run being finished is a member of a fused group (ablab.fused), and of which.

The fused launcher trains a group's members together, validates and tests each member's best
epoch in one pass (fused/finish.py), then finishes each one through the ordinary run
(run/train.py), which resumes from the checkpoint the group wrote at its last epoch and writes
results.json. That run reads this to record the truth: trained in a group of K (`fused` in
results.json), not resumed, its TensorBoard points kept (a resume would hide the group's last
points as replayed), and its best epoch's evaluations as its group measured them.
"""
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Tested:
    """A member's best epoch (counted from 1; None without a best checkpoint) and its evaluations
    ("val", "test": Evaluations), measured by its group."""

    best_epoch: int | None
    evaluated: dict


_current: dict | None = None
_logger = None
_datamodule = None
_tested: Tested | None = None


@contextmanager
def finishing(group: dict, logger=None, datamodule=None, tested: Tested | None = None):
    """`logger`: the member's TensorBoard logger, still open, so the run's points stay in one event
    file; `datamodule`: its data, loaded and split when the member was built (not loaded twice);
    `tested`: its best epoch validated and tested by the group, or None (its run measures them)."""
    global _current, _logger, _datamodule, _tested
    _current, _logger, _datamodule, _tested = group, logger, datamodule, tested
    try:
        yield
    finally:
        _current, _logger, _datamodule, _tested = None, None, None, None


def datamodule():
    """The member's data module, set up by its group, or None."""
    return _datamodule


def logger():
    """The member's TensorBoard logger, which its group wrote the training points with."""
    return _logger


def group() -> dict | None:
    """{"members": K, "jobs": [job numbers]} while a fused member is finished, else None."""
    return _current


def tested() -> Tested | None:
    """The member's best epoch and its validation and test, when its group measured them."""
    return _tested
