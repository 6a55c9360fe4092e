"""Every random stream of a run, derived from the run's seed by name: the one place for randomness.

Each stream's generator is seeded with `seed_of(name, seed, epoch)`, a function of the run's
seed (and, for the per-epoch streams, the epoch), so a run repeats exactly and a run resumed at
epoch k draws what the uninterrupted run drew at epoch k, with nothing to save.

| stream       | generator seed            | drawn by                                                     |
|--------------|---------------------------|--------------------------------------------------------------|
| `weights`    | seed                      | torch's global generator when the network is built (run/train.py) |
| `split.val`  | 7919·seed                 | the stratified validation hold-out (data/splits.py)           |
| `split.test` | 7919·seed + 1             | the test hold-out, for a source without a test split          |
| `split.fold` | seed                      | the stratified k folds                                        |
| `longtail`   | seed                      | which images a long-tailed training set keeps (data/datamodule.py) |
| `order`      | 100003·seed + epoch       | the training batches' order (data/loader.py)                  |
| `augment`    | 100003·(seed + 1) + epoch | augmentation and the long tail's copies (data/preprocess.py)  |
| `dropout`    | 100003·(seed + 2) + epoch | torch's global generator each epoch: dropout, a streamed loader's shuffle (run/resume/state.py; fused/net.py per member) |

The per-epoch streams are 100003 apart, so they stay distinct for runs of up to 100003 epochs.
`weights`, `split.fold` and `longtail` share the generator seed `seed`, and with seed 0 (the
default) `split.val` and epoch 0's `order` take generator seed 0 too, and `split.test` and
epoch 1's `order` generator seed 1: they draw from different
generators for different purposes, and giving them their own seeds would change every seeded
result (tests/test_random_streams.py pins what each stream draws, and lists these coincidences).
"""
from __future__ import annotations

EPOCH_SPAN = 100_003  # a prime above any run's epoch count

FORMULAS = {
    "weights": lambda seed, epoch: seed,
    "split.val": lambda seed, epoch: seed * 7919,
    "split.test": lambda seed, epoch: seed * 7919 + 1,
    "split.fold": lambda seed, epoch: seed,
    "longtail": lambda seed, epoch: seed,
    "order": lambda seed, epoch: seed * EPOCH_SPAN + epoch,
    "augment": lambda seed, epoch: (seed + 1) * EPOCH_SPAN + epoch,
    "dropout": lambda seed, epoch: (seed + 2) * EPOCH_SPAN + epoch,
}
PER_EPOCH = ("order", "augment", "dropout")
SAME_SEED = ("weights", "split.fold", "longtail")  # see the module docstring


def seed_of(stream: str, seed: int, epoch: int = 0) -> int:
    """The generator seed of `stream` in the run seeded `seed`, at `epoch` for a per-epoch stream."""
    return FORMULAS[stream](int(seed), int(epoch))
