"""What a person reads: run names that lead with what differs, TensorBoard's HParams and
Scalars as the run writes them (read back with TensorBoard's own readers), and a sweep's
one line per job."""
import math

import pytest

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import metadata

from ablab.run import sweep_output
from ablab.run.names import description, display_name
from tests.conftest import TINY, read_results, run_cli


def test_names_are_values_where_unambiguous_with_the_seed_always_and_the_fold_last():
    varied = ["optimizer", "seed", "data.fold"]
    assert display_name(["seed=1", "model=mlp", "optimizer=sgd", "data.fold=2"], varied) == "sgd s1 f2"
    assert display_name(["model=mlp", "seed=0"], varied, {"optimizer": "adam"}.get) == "baseline s0"
    assert description(["model=mlp", "seed=0"], varied, {"optimizer": "adam"}.get) == "baseline (optimizer=adam) seed=0"
    # seed=auto's rounds set the seed, which the sweep does not list; a single run's seed is its config's.
    assert display_name(["model=mlp", "hydra.sweep.dir=/x", "optimizer=rmsprop", "seed=4"], ["optimizer"]) == "rmsprop s4"
    assert display_name(["optimizer=rmsprop"], ["optimizer"], seed=0) == "rmsprop s0"
    # A value another swept key also takes, or one that says nothing alone, keeps its key.
    swept = {"norm": ["batch", "none"], "augment": ["none", "digits"]}
    assert display_name(["norm=none"], list(swept), swept_values=swept, seed=0) == "norm=none s0"
    assert display_name(["augment=digits"], list(swept), swept_values=swept, seed=0) == "digits s0"
    assert display_name(["activation=relu", "loss=relu"], ["activation", "loss"], seed=0) == "activation=relu loss=relu s0"
    # Plain values keep their key, shortened; two keys with one short form keep the whole key.
    assert display_name(["optimizer.lr=0.001"], ["optimizer.lr"], seed=0) == "lr=0.001 s0"
    assert display_name(["model.lr=1", "optimizer.lr=2"], ["model.lr", "optimizer.lr"], seed=0) == \
        "model.lr=1 optimizer.lr=2 s0"
    # A value a search sampled is shown to 3 significant digits; its description keeps every digit.
    sampled = ["optimizer.lr=0.004430375245218269", "optimizer.weight_decay=0.0007151893663724195"]
    assert display_name(sampled, ["optimizer.lr", "optimizer.weight_decay"], seed=0) == "lr=0.00443 wd=0.000715 s0"
    assert "0.004430375245218269" in description(sampled, ["optimizer.lr", "optimizer.weight_decay"], seed=0)
    # A single run: its own overrides, without where its data is or how it was run.
    single = ["model=mlp", "data.root=/d", "trainer.limit_train_batches=3", "trainer.max_epochs=2", "hydra.run.dir=/r"]
    assert display_name(single, seed=0) == "mlp epochs=2 s0"
    assert display_name([]) == "baseline"
    assert "/" not in display_name(["data.root=/a", "model=a/b"])


def test_every_run_of_a_twenty_job_ofat_sweep_fits_a_tensorboard_card_header():
    """TensorBoard cuts a run's name at about 28 characters; the run is <sweep>/<job>/<name>, so
    <job>/<name> leaves four characters for a sweep's own folder (e.g. `--logdir_spec s3:<dir>`)."""
    swept = {"optimizer": ["sgd", "adamw", "rmsprop"], "activation": ["gelu", "tanh", "leaky_relu"],
             "norm": ["none", "layer"], "scheduler": ["step", "cosine"], "dropout": ["0.1", "0.5"],
             "optimizer.lr": ["0.0003", "0.003"], "model.hidden": ["[256,128]", "[1024,512]"],
             "regularizer": ["l2", "l1"], "augment": ["digits"]}
    jobs = [[]] + [[f"{k}={v}"] for k, values in swept.items() for v in values]
    assert len(jobs) == 20
    names = [display_name(job + ["seed=12"], [*swept, "seed"], swept_values=swept) for job in jobs]
    assert len(set(names)) == 20 and names[0] == "baseline s12"
    assert max(len(f"{j}/{n}") for j, n in enumerate(names)) <= 24, names


def test_job_line_counts_jobs_and_the_time_left():
    sweep_output.begin_study(106)
    try:
        sweep_output.study_stage("cnn_search")
        sweep_output._study.lines = sweep_output._study.trained = 11
        sweep_output._study.started = 1000.0
        line = sweep_output.job_line({"status": "completed", "name": "adam f2 s0", "wall_s": 3.21,
                                      "val": {"acc": 0.86412}}, job_num=3, now=1000.0 + 240)
    finally:
        sweep_output.end_study()
    assert line == "[12/106] cnn_search adam f2 s0 · val acc 0.8641 · 3.2 s · study 4 min in, ~31 min left"


def test_time_left_counts_only_trained_jobs_and_a_fused_group_as_its_members_share():
    record = {"status": "completed", "name": "sgd s0", "wall_s": 1.0, "val": {"acc": 0.9}}
    # Resumed: 20 of 30 jobs completed before; one trained job of 60 s leaves 9 more, not 10 x 60 / 21.
    sweep_output.begin_sweep(30, done_before=20)
    sweep_output._sweep.started = 0.0
    for j in range(20):
        assert "completed before" in sweep_output.job_line(record, j, now=1.0, resumed=True)
    assert sweep_output.job_line(record, 20, now=60.0) == "[21/30] sgd s0 · val acc 0.9000 · 1.0 s · sweep 60 s in, ~9 min left"
    # A fused group of 8 trained in 80 s: its first member's line counts all 8 (10 s each).
    sweep_output.begin_sweep(16)
    sweep_output._sweep.started = 0.0
    sweep_output.group_trained(8)
    assert sweep_output.job_line(record, 0, now=80.0) == "[1/16] sgd s0 · val acc 0.9000 · 1.0 s · sweep 80 s in, ~80 s left"
    assert sweep_output.job_line(record, 1, now=81.0).startswith("[2/16] ")
    # seed=auto: at most N, and the time left is a bound.
    sweep_output.begin_sweep(90, at_most=True)
    sweep_output._sweep.started = 0.0
    assert sweep_output.job_line(record, 0, now=30.0) == "[1/≤90] sgd s0 · val acc 0.9000 · 1.0 s · sweep 30 s in, ≤ ~44 min left"
    sweep_output.begin_sweep(None)


def test_lightning_lines_keep_their_label_under_hydras_console_format():
    import logging

    formatter = sweep_output.ByOrigin("[%(asctime)s][HYDRA] %(message)s")
    lightning = logging.LogRecord("lightning.pytorch.utilities.rank_zero", logging.INFO, "", 0, "GPU available", None, None)
    hydra = logging.LogRecord("hydra._internal.core_plugins.basic_launcher", logging.INFO, "", 0, "Launching", None, None)
    assert formatter.format(lightning).endswith("][lightning] GPU available")
    assert formatter.format(hydra).endswith("][HYDRA] Launching")


def test_ofat_sweep_names_runs_writes_the_hparams_config_and_prints_one_line_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/sweeper=ofat", "optimizer=sgd,adam", "model=mlp", *TINY, f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Names: the baseline says what it stands for; the TensorBoard run is <job>/<name>, and
    # `tensorboard --logdir` of the sweep (or of multirun/) finds every run.
    assert [read_results(sweep / j)["name"] for j in ("0", "1")] == ["baseline s0", "sgd s0"]
    assert read_results(sweep / "0")["description"] == f"baseline (optimizer=adam) seed=0 · {sweep.parent.name}/sweep/0"
    runs = EventMultiplexer().AddRunsFromDirectory(str(sweep)).Runs()
    assert set(runs) == {"0/baseline s0", "1/sgd s0"}
    # Progress: one line per job, Lightning's model table once.
    assert "[1/2] baseline s0 · val acc " in proc.stdout and "[2/2] sgd s0 · val acc " in proc.stdout
    assert proc.stdout.count("Total params") == 1 and "ablab: run completed" not in proc.stdout
    # The same command again: every job counted, as completed before, nothing trained.
    again = run_cli("-m", "hydra/sweeper=ofat", "optimizer=sgd,adam", "model=mlp", *TINY, f"hydra.sweep.dir={sweep}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "[1/2] baseline s0 · completed before · val acc " in again.stdout
    assert "[2/2] sgd s0 · completed before · val acc " in again.stdout

    events = EventAccumulator(str(sweep / "1" / "sgd s0"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    content = events.PluginTagToContent("hparams")
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    hparams = {h.name: h for h in experiment.hparam_infos}
    assert [h.name for h in experiment.hparam_infos if h.differs] == ["optimizer", "run"]  # the first columns
    # Every value of what is trained can be shown: the architecture's sizes and the weight count too.
    assert {"model", "model.hidden", "params", "lr", "optimizer.momentum", "seed", "batch_size", "run"} <= hparams.keys()
    assert not {"trainer", "callbacks", "viz", "data.root"} & hparams.keys()
    metrics = [m.name.tag for m in experiment.metric_infos]  # val first: the dashboard shows five
    assert metrics[:5] == ["~hp/val_acc", "~hp/val_f1_macro", "~hp/val_loss", "~hp/test_acc", "~hp/test_f1_macro"]
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["seed"].string_value == "0" and start.hparams["batch_size"].string_value == "128"
    assert start.hparams["optimizer"].string_value == "sgd" and start.group_name == "sgd s0 · sweep/1"
    assert start.hparams["model.hidden"].string_value == "[512,256,128]" and int(start.hparams["params"].string_value) > 0
    assert start.hparams["run"].string_value == f"optimizer=sgd seed=0 · {sweep.parent.name}/sweep/1"
    assert metadata.SESSION_END_INFO_TAG in content

    scalars = set(events.Tags()["scalars"])
    assert "lr" in scalars and "epoch" not in scalars and not any(t.startswith("lr-") for t in scalars)
    assert not any(t.endswith("_micro") for t in scalars)  # equal to accuracy for one label per image
    for tag in (t for t in scalars if t.startswith("~hp/")):  # one real value each, no NaN placeholder
        points = events.Scalars(tag)
        assert len(points) == 1 and math.isfinite(points[0].value), tag
    assert {"~hp/test_acc", "~hp/val_acc", "curves/loss_train", "curves/acc_val"} <= scalars
    groups = sorted({t.split("/")[0] for t in scalars})  # TensorBoard orders groups by character codes
    assert groups[0] == "curves" and groups[-1] == "~hp" and not events.Tags()["histograms"]  # histograms: opt-in
    assert [p.step for p in events.Scalars("curves/acc_val")] == [1]  # per-epoch charts over epochs


def test_hparams_tell_two_architectures_apart_and_mark_what_the_sweep_varies():
    from omegaconf import OmegaConf

    from ablab.run import hparams

    def cfg(hidden, dropout):
        return OmegaConf.create({"model": {"_target_": "x.MLP", "hidden": hidden}, "dropout": dropout, "seed": 0,
                                 "optimizer": {"lr": 0.001, "betas": [0.9, 0.999]}, "trainer": {"max_epochs": 2},
                                 "data": {"batch_size": 128, "root": "/somewhere"}})

    small = hparams.values(cfg([128, 64], 0.0), {"model": "mlp"}, 109386, ["model.hidden", "dropout"], "d")
    large = hparams.values(cfg([512, 256], 0.2), {"model": "mlp"}, 535818, ["model.hidden", "dropout"], "d")
    assert (small["model.hidden"], large["model.hidden"]) == ("[128,64]", "[512,256]")
    assert small["params"] != large["params"] and small["dropout"] != large["dropout"]
    assert "data.root" not in small and "model._target_" not in small and small["optimizer.betas"] == "[0.9,0.999]"
    assert hparams.differing(["model.hidden", "dropout"]) == {"model.hidden", "dropout", "params"}
    assert hparams.differing(["optimizer", "seed"]) == {"optimizer", "seed"}


def test_learning_rate_is_charted_every_step_and_history_takes_each_epochs_last(tmp_path):
    """One learning-rate truth: TensorBoard's `lr` has the rate every step used (one-cycle's
    warm-up peak included) and results.json's history (figures/curves.png) the rate of each
    epoch's last step, the same value as the chart at that step."""
    run = tmp_path / "run"
    proc = run_cli("model=mlp", "trainer.max_epochs=2", "trainer.limit_train_batches=8", "trainer.limit_val_batches=2",
                   "trainer.limit_test_batches=2", "viz=none", f"hydra.run.dir={run}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = EventAccumulator(str(run / "mlp epochs=2 s0"), size_guidance={"scalars": 0})
    events.Reload()
    lr = {p.step: p.value for p in events.Scalars("lr")}
    assert sorted(lr) == list(range(16))
    assert max(lr.values()) == pytest.approx(1e-3, rel=1e-3) and lr[0] == pytest.approx(1e-3 / 25, rel=1e-3)
    history = read_results(run)["history"]
    assert [h["lr"] for h in history] == pytest.approx([lr[7], lr[15]], rel=1e-6)
    assert [p.step for p in events.Scalars("curves/loss_train")] == [1, 2]  # epochs, from 1


def test_a_validation_after_fit_is_not_a_point_of_the_curves(tmp_path):
    from ablab.run.tensorboard import RunLogger

    logger = RunLogger(tmp_path, "sgd s0")
    logger.log_metrics({"val/acc": 0.5, "val/f1_macro": 0.4, "epoch": 0}, step=63)
    logger.log_metrics({"val/acc": 0.6, "train/loss_step": 1.0, "epoch": 1}, step=127)
    logger.fitting = False  # trainer.validate of the best epoch
    logger.log_metrics({"val/acc": 0.55, "epoch": 2}, step=127)
    logger.close()
    events = EventAccumulator(str(tmp_path / "sgd s0"), size_guidance={"scalars": 0})
    events.Reload()
    assert [(p.step, p.value) for p in events.Scalars("curves/acc_val")] == [(1, 0.5), (2, pytest.approx(0.6))]
    assert [p.step for p in events.Scalars("train/loss_step")] == [127] and "epoch" not in events.Tags()["scalars"]
