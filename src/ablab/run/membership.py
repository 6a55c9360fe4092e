"""Whether the run being finished is a member of a fused group (ablab.fused), and of which.

The fused launcher trains a group's members together, then finishes each one through the
ordinary run (run/train.py), which resumes from the checkpoint the group wrote for it at its
last epoch, validates and tests its best epoch and writes results.json. That run reads this
to record the truth: trained in a group of K (`fused` in results.json), not resumed, and its
TensorBoard points kept (a resume would hide the group's last points as replayed).
"""
from contextlib import contextmanager

_current: dict | None = None
_last_val = None
_logger = None
_datamodule = None


@contextmanager
def finishing(group: dict, last_val=None, logger=None, datamodule=None):
    """`last_val`: the member's validation at its last epoch (an Evaluation), measured by the group;
    `logger`: its TensorBoard logger, still open, so the run's points stay in one event file;
    `datamodule`: its data, loaded and split when the member was built (not loaded twice)."""
    global _current, _last_val, _logger, _datamodule
    _current, _last_val, _logger, _datamodule = group, last_val, logger, datamodule
    try:
        yield
    finally:
        _current, _last_val, _logger, _datamodule = None, None, None, None


def datamodule():
    """The member's data module, set up by its group, or None."""
    return _datamodule


def logger():
    """The member's TensorBoard logger, which its group wrote the training points with."""
    return _logger


def group() -> dict | None:
    """{"members": K, "jobs": [job numbers]} while a fused member is finished, else None."""
    return _current


def last_val():
    """The member's last validation, so a best last epoch is not validated twice (run/train.py)."""
    return _last_val
