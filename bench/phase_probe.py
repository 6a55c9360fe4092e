"""The probe callback of bench/sweep_overhead.py, loaded inside each job of its sweep
(`+callbacks.probe._target_=phase_probe.PhaseProbe`, with bench/ on PYTHONPATH)."""
import json
import time
from pathlib import Path

import pytorch_lightning as pl


class PhaseProbe(pl.Callback):
    """Writes <job dir>/phases.json: seconds per phase and the hook times, rewritten at each teardown."""

    def __init__(self):
        self.t = {"probe_init": time.time()}
        # seconds per (category, span): span "setup" (before the first training step), "val" (a
        # validation pass during fit), "fit" (the rest of fit) or "final" (validate + test after
        # fit), so each span's own work is known.
        self.spent: dict[str, float] = {}
        self.val_fit = 0.0
        self._depth = 0
        self._wrapped = False
        self._in_val = False
        self._trainer = None

    def _span(self) -> str:
        if "first_batch" not in self.t:  # before the first step (e.g. the long-tail report's first chart)
            return "setup"
        if self._in_val:
            return "val"
        return "fit" if self._trainer is not None and self._trainer.state.fn == "fit" else "final"

    def _timed(self, category, fn):
        def run(*args, **kwargs):
            if self._depth:  # nested inside another timed call: counted there
                return fn(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                key = f"{category}/{self._span()}"
                self.spent[key] = self.spent.get(key, 0.0) + time.perf_counter() - start
                self._depth -= 1
        return run

    def setup(self, trainer, pl_module, stage):
        self._trainer = trainer
        if self._wrapped:
            return
        self._wrapped = True
        trainer.save_checkpoint = self._timed("ckpt", trainer.save_checkpoint)
        for cb in trainer.callbacks:
            if type(cb).__name__ in ("Figures", "LongTailReport"):
                for hook in ("on_fit_start", "on_train_epoch_end", "on_test_batch_end", "on_test_end",
                             "on_test_epoch_end", "on_fit_end", "on_validation_epoch_end", "on_validation_end"):
                    if hook in type(cb).__dict__:
                        setattr(cb, hook, self._timed("figures", getattr(cb, hook)))
        writer = trainer.logger.experiment if trainer.logger is not None else None
        if writer is not None:
            for name in ("add_scalar", "add_scalars", "add_histogram", "add_image", "add_images", "add_figure",
                         "add_hparams", "add_text", "flush"):
                if hasattr(writer, name):
                    setattr(writer, name, self._timed("tb", getattr(writer, name)))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.t.setdefault("first_batch", time.time())
        self.t.setdefault("epoch_train_start", time.time())

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.t["last_batch_end"] = time.time()

    def on_validation_start(self, trainer, pl_module):
        self._val_start = time.time()
        if trainer.state.fn == "fit":
            self._in_val = True
        else:
            self.t.setdefault("final_start", time.time())

    def on_validation_end(self, trainer, pl_module):
        # Runs after the checkpoint callbacks' on_validation_end (the probe is added last).
        if trainer.state.fn == "fit":
            self.val_fit += time.time() - self._val_start
            self._in_val = False

    def on_test_start(self, trainer, pl_module):
        self.t.setdefault("final_start", time.time())
        self.t["test_start"] = time.time()

    def teardown(self, trainer, pl_module, stage):
        # Lightning passes a TrainerFn, a str enum whose f-string form is "TrainerFn.TESTING".
        self.t[f"teardown_{getattr(stage, 'value', stage)}"] = time.time()
        path = Path(trainer.default_root_dir) / "phases.json"
        path.write_text(json.dumps({"t": self.t, "spent": self.spent, "val_fit": self.val_fit}))


class FirstStep(pl.Callback):
    """bench/startup.py's probe: prints the wall clock at the first training step, then ends
    the process at once (nothing after that moment is start-up)."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        import os

        print(f"FIRST_STEP {time.time():.6f}", flush=True)
        os._exit(0)
