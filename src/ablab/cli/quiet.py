"""Known noise of our dependencies, silenced message by message (never every warning).

Each filter names the one message it drops and why it is noise for an ablab run. Applied
when ablab is imported, so the Python API is as quiet as the commands.
"""
import logging
import sys
import warnings
from contextlib import contextmanager


class _DropTips(logging.Filter):
    """Lightning's advertising for its cloud logger, printed at every Trainer's start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


def silence_known_noise() -> None:
    # Lightning's CombinedLoader (wrapping every loader, ours included) builds a torch LeafSpec,
    # which torch >= 2.10 deprecates; nothing a Lightning user's code can change.
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning)
    # torchvision 0.29 deprecates its image decoders in favour of TorchCodec, warning at every
    # decode of a folder's images; they still work, and TorchCodec is not a dependency of ours.
    warnings.filterwarnings("ignore", message=r"The image decoding and encoding capabilities of TorchVision are deprecated",
                            category=DeprecationWarning)
    # By design: the data module serves uint8 batches and the LightningModule preprocesses them
    # (ablab.data.preprocess); Lightning points out that the module's batch hook is the one used.
    warnings.filterwarnings("ignore", message=r"You have overridden `on_after_batch_transfer` in `LightningModule` but "
                            r"have passed in a `LightningDataModule`")
    rank_zero = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    if not any(isinstance(f, _DropTips) for f in rank_zero.filters):
        rank_zero.addFilter(_DropTips())


HYDRA_JOB_ERROR = "Error executing job with overrides:"


class _WithoutHydraJobErrors:
    """stderr, less the line Hydra writes when a sweeper reads a failed job's return value
    (hydra.core.utils.JobReturn): ablab has said which job failed and why in its own line."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith(HYDRA_JOB_ERROR):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name):  # flush, isatty, fileno, encoding, ...: the real stream's
        return getattr(self._stream, name)


@contextmanager
def without_hydra_job_errors():
    real = sys.stderr
    sys.stderr = _WithoutHydraJobErrors(real)
    try:
        yield
    finally:
        sys.stderr = real
