"""What each run's per-example predictions (predictions.npz) add to a report.

- Two single runs on the same examples: McNemar's test (Dietterich 1998), the exact binomial
  test of the discordant examples (b: only the reference right, c: only the row right;
  b ~ Binomial(b + c, 1/2) if the two networks were equally good on this data). It measures
  test-set noise only: with one run per configuration seed-to-seed noise is unknown, so a
  significant McNemar says the gap is beyond what these examples alone would produce, not
  that another seed would repeat it.
- The seed-to-seed spread split (Jordan, ICLR 2024): if each example i is got wrong with its
  own rate p_i, independently across runs, a run's accuracy on n fixed examples varies with
  variance Σ p_i(1 - p_i) / n² (p_i estimated from a configuration's runs, times k/(k - 1)
  for k runs, unbiased). When the runs do not share their examples (the validation split is
  drawn per seed), the examples are resampled too and the finite-set variance is the binomial
  acc(1 - acc)/n. The rest of the observed variance is what training adds (weights, order).
  Most of it finite-set noise: a larger validation/test split narrows every run; most of it
  training: more seeds (or seed=auto) narrow the means.

Runs without predictions.npz (older run directories) are left out; a row or sweep with none
is reported as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from ablab.run import predictions


def _split(metric: str) -> Optional[str]:
    """The split whose examples the metric counts: "val.acc" -> "val"; None for other metrics."""
    split, _, name = metric.partition(".")
    return split if split in predictions.SPLITS and name == "acc" else None


@dataclass(frozen=True)
class McNemar:
    only_reference: int  # b: examples only the reference got right
    only_row: int  # c: examples only the row got right
    p_value: float
    examples: int


def mcnemar(row_run, ref_run, metric: str) -> Optional[McNemar]:
    """Exact McNemar of two runs (collect.Run) on the metric's split, when both stored the same examples."""
    split = _split(metric)
    if split is None:
        return None
    a, b = predictions.read(row_run.path, split), predictions.read(ref_run.path, split)
    if a is None or b is None or len(a[1]) != len(b[1]) or not np.array_equal(a[1], b[1]):
        return None
    row_right, ref_right = a[0] == a[1], b[0] == b[1]
    only_ref = int(np.sum(ref_right & ~row_right))
    only_row = int(np.sum(row_right & ~ref_right))
    n = only_ref + only_row
    p = 1.0 if n == 0 else float(stats.binomtest(only_row, n, 0.5).pvalue)
    return McNemar(only_ref, only_row, p, len(a[1]))


@dataclass(frozen=True)
class Spread:
    observed: float  # pooled within-configuration variance of the metric (runs of the same configuration)
    finite_set: float  # what the finite evaluation set alone predicts, pooled the same way
    examples: int  # per run (the median)
    shared: bool  # the runs of a configuration scored the same examples (per-example rates used)

    @property
    def share(self) -> float:
        return min(1.0, self.finite_set / self.observed) if self.observed > 0 else 1.0


def spread(rows, metric: str) -> Optional[Spread]:
    """The within-configuration variance of `metric` beside the finite-set variance, pooled over the
    rows with at least two runs that stored predictions (weights: each row's n - 1)."""
    split = _split(metric)
    if split is None:
        return None
    obs_ss = pred_ss = 0.0
    dof, sizes, shared_all = 0, [], True
    for row in rows:
        got = [(r, predictions.read(r.path, split)) for r in row.runs if r.status == "completed"]
        got = [(r, p) for r, p in got if p is not None and r.value(metric) is not None]
        if len(got) < 2:
            continue
        accs = np.array([r.value(metric) for r, _ in got])
        k = len(got)
        labels = [p[1] for _, p in got]
        same = all(len(x) == len(labels[0]) and np.array_equal(x, labels[0]) for x in labels)
        n = len(labels[0])
        if same:
            wrong = np.mean([p[0] != p[1] for _, p in got], axis=0)
            finite = float(np.sum(wrong * (1 - wrong)) * k / (k - 1)) / n ** 2
        else:
            sizes_row = np.array([len(p[1]) for _, p in got])
            finite = float(np.mean(accs * (1 - accs) / sizes_row))
        shared_all &= same
        obs_ss += float(np.var(accs, ddof=1)) * (k - 1)
        pred_ss += finite * (k - 1)
        dof += k - 1
        sizes.append(n)
    if not dof:
        return None
    return Spread(obs_ss / dof, pred_ss / dof, int(np.median(sizes)), shared_all)
