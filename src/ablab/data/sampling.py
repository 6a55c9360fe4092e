"""Which training indices one epoch visits, in which order.

A sampler is a callable `(labels, generator) -> indices`: given the training labels
(1-D int64 tensor on the data's device) it returns one epoch of indices into them.
The batch loader slices batches off that tensor, so a sampler never touches images.
`Shuffle` visits every image once (instance-balanced); `ClassBalanced` and `SquareRoot`
re-balance classes for long-tailed training sets (Kang et al. 2020, decoupling).
"""
import torch

from ablab.data.ranks import group_by_class


class Shuffle:
    """Every training image once per epoch, in a fresh random order (sampler=none)."""

    def __call__(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return torch.randperm(len(labels), generator=generator, device=generator.device)


def class_weights(counts: torch.Tensor, power: float) -> torch.Tensor:
    """Probability of drawing each class, proportional to n_c ** power.

    Kang et al. 2020 (decoupling): power 1 is instance-balanced (plain shuffling),
    0.5 square-root, 0 class-balanced. Classes with no images get probability 0.
    """
    counts = counts.to(torch.float32)
    # torch gives 0 ** 0 = 1, so an empty class must be masked, not just powered.
    w = torch.where(counts > 0, counts.pow(power), torch.zeros_like(counts))
    return w / w.sum()


class ClassPower:
    """Draws a class with probability ∝ n_c ** power, then an image of it uniformly.

    Sampling is with replacement, so tail images repeat within an epoch. One epoch is
    `num_samples` draws (default: as many as there are training images).
    """

    def __init__(self, power: float, num_samples: int | None = None):
        self.power = float(power)
        self.num_samples = num_samples

    def __call__(self, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n = len(labels) if self.num_samples is None else int(self.num_samples)
        # Indices grouped by class: class c occupies order[starts[c] : starts[c] + counts[c]],
        # so one uniform offset per draw picks an image of its class without a Python loop.
        order, starts, counts = group_by_class(labels)
        cls = torch.multinomial(class_weights(counts, self.power), n, replacement=True, generator=generator)
        size = counts[cls]
        u = torch.rand(n, generator=generator, device=labels.device)
        # float rounding can make u * size == size for large classes; clamp keeps it in range.
        offset = torch.minimum((u * size).long(), size - 1)
        return order[starts[cls] + offset]


class ClassBalanced(ClassPower):
    """Every class equally likely, then uniform within the class (sampler=balanced)."""

    def __init__(self, num_samples: int | None = None):
        super().__init__(0.0, num_samples)


class SquareRoot(ClassPower):
    """Class probability ∝ sqrt(n_c), then uniform within the class (sampler=sqrt)."""

    def __init__(self, num_samples: int | None = None):
        super().__init__(0.5, num_samples)
