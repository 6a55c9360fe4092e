"""Every random stream of a run is a function of its seed: these values were drawn by the code
before the streams were gathered in one module, and a seed's results must not change."""
import pytest
import torch

from ablab.data.augment import Affine
from ablab.data.batch import Batch
from ablab.data.loader import TensorBatches
from ablab.data.longtail_subset import select_longtail
from ablab.data.preprocess import Preprocess
from ablab.data.sampling import Shuffle
from ablab.data.sources import DecodedDataset
from ablab.data.splits import make_splits
from ablab.run.resume.state import EpochSeed

LABELS = torch.arange(200) % 4
IMAGES = torch.arange(200, dtype=torch.uint8).view(200, 1, 1, 1)  # image i holds i: indices read back

PINNED = {
    0: {"val": [0, 2, 8, 21, 23, 24], "test": [6, 38, 45, 51, 78, 80], "fold": [0, 5, 6, 7, 8, 12],
        "order": [[44, 57, 157, 64, 19, 74], [45, 130, 128, 38, 91, 123]], "longtail": [0, 1, 4, 8, 10, 12, 13, 15],
        "augment": (-13.5412, -1.5765), "dropout": 200010},
    3: {"val": [8, 17, 20, 24, 25, 26], "test": [5, 12, 14, 18, 55, 62], "fold": [1, 18, 19, 21, 30, 36],
        "order": [[3, 121, 182, 191, 98, 95], [113, 132, 167, 59, 112, 38]], "longtail": [0, 4, 5, 8, 9, 12, 16, 20],
        "augment": (-13.9927, -1.5137), "dropout": 500019},
}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_a_seeds_streams_draw_what_they_drew(seed):
    pinned = PINNED[seed]
    decoded = DecodedDataset(IMAGES, LABELS, list("abcd"))
    held = make_splits(decoded, 0.2, 0.1, 1, 0, seed)
    assert held["val"].x.flatten()[:6].tolist() == pinned["val"]
    assert held["test"].x.flatten()[:6].tolist() == pinned["test"]
    assert make_splits(decoded, 0.2, 0.0, 5, 2, seed)["val"].x.flatten()[:6].tolist() == pinned["fold"]
    batches = TensorBatches(IMAGES, LABELS, 8, order=Shuffle(), seed=seed)
    assert [next(iter(batches)).x.flatten()[:6].tolist() for _ in range(2)] == pinned["order"]  # epochs 0 and 1
    assert select_longtail(LABELS, 4, seed, "exponential", ratio=10)[:8].tolist() == pinned["longtail"]
    preprocess = Preprocess(list("abcd"), (1, 4, 4), [0.5], [0.25], augment=Affine(), seed=seed)
    images = (torch.arange(32) * 7 % 256).to(torch.uint8).view(2, 1, 4, 4)
    x = preprocess(Batch(images, torch.zeros(2, dtype=torch.long)), training=True, epoch=1).x
    assert (round(float(x.sum()), 4), round(float(x[0, 0, 1, 1]), 4)) == pinned["augment"]
    assert EpochSeed.stream(seed, 4) == pinned["dropout"]


def test_a_runs_streams_are_distinct():
    """Within a run, no two streams' generators share a seed (at any epoch of a 200-epoch run),
    except those the module names (kept: a new seed would change every seeded result)."""
    from ablab.seeds import FORMULAS, PER_EPOCH, SAME_SEED, seed_of

    def shared(seed: int) -> set[frozenset]:
        drawn: dict[int, set] = {}
        for stream in FORMULAS:
            for epoch in (range(200) if stream in PER_EPOCH else [0]):
                drawn.setdefault(seed_of(stream, seed, epoch), set()).add(stream)
        return {frozenset(streams) for streams in drawn.values() if len(streams) > 1}

    for seed in (1, 7, 12345):
        assert shared(seed) == {frozenset(SAME_SEED)}
    # 7919·0 = 100003·0 + 0 and 7919·0 + 1 = 100003·0 + 1
    assert shared(0) == {frozenset({*SAME_SEED, "split.val", "order"}), frozenset({"split.test", "order"})}
    assert seed_of("order", 3, 5) != seed_of("order", 3, 6)  # each epoch its own order


def test_the_run_draws_its_weights_from_the_weights_stream():
    import pytorch_lightning as pl

    from ablab.seeds import seed_of

    pl.seed_everything(seed_of("weights", 3), verbose=False)
    assert round(float(torch.nn.Linear(4, 2).weight[0, 0]), 6) == round(float(_linear_after_seed(3)), 6)


def _linear_after_seed(seed: int) -> float:
    torch.manual_seed(seed)  # what seed_everything(seed) did to torch before the streams had names
    return torch.nn.Linear(4, 2).weight[0, 0]
