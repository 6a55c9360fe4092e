"""Each member's best epoch validated (where its last is not its best) and tested, in one pass
over the stack, as its run's finish (run/train.py `_validate_and_test_best`) does for one run.

One by one, each member's finish would be a test pass of its own: ~80 batches of 128 through
Lightning's loop and K metric updates per batch, ~0.11 s per small-MLP member, paid K times. Here
the group's trainer runs it once for all members, with each member's best weights in its slice of
the stack, and `Members` calls each member's own callbacks with its own logits and batch, so its
test metrics in TensorBoard and its figures (or their saved data) are written by the same code as
in its run. Its finish (fused.launch, run/train.py) then takes these evaluations instead of
measuring them again (ablab.run.membership).
"""
from __future__ import annotations

import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from ablab.fused.members import Member
from ablab.fused.module import FusedClassifier
from ablab.run import predictions
from ablab.run.membership import Tested
from ablab.run.train import best_epoch_of


def validate_and_test_best(trainer, module: FusedClassifier, members: list[Member], data) -> None:
    alive = [m for m in members if m.alive]
    if not alive:
        return
    stale, best_epochs = [], {}
    for m in alive:
        checkpoint = next((c for c in m.callbacks if isinstance(c, ModelCheckpoint)), None)  # its trainer's checkpoint_callback
        best = (checkpoint.best_model_path if checkpoint is not None else None) or None
        best_epochs[m.k] = best_epoch_of(best)
        if best_epochs[m.k] is not None and best_epochs[m.k] == trainer.current_epoch and "val" in m.classifier.evaluated:
            continue  # its last epoch is its best: the weights are in the stack, its validation known
        stale.append(m)
        if best is not None:  # as trainer.validate(ckpt_path=best) loads them
            raw = torch.load(best, map_location="cpu", weights_only=True)
            m.classifier.load_state_dict(raw["state_dict"])
            module.net.copy_from(m.k, m.classifier.model)
    try:
        if stale:
            module.measuring = {m.k for m in stale}
            trainer.validate(module, datamodule=data, verbose=False)
        module.measuring = {m.k for m in alive}
        trainer.test(module, datamodule=data, verbose=False)
    finally:
        module.measuring = None
    for m in alive:
        m.tested = Tested(best_epochs[m.k], dict(m.classifier.evaluated))
        predictions.write(m.run_dir, m.classifier.predicted)  # per-example evidence, as its run writes it
