"""What a person reads: run names that lead with what differs, TensorBoard's HParams and
Scalars as the run writes them (read back with TensorBoard's own readers), and a sweep's
one line per job."""
import math

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.hparams import metadata

from ablab.run import sweep_output
from ablab.run.names import display_name
from tests.conftest import TINY, read_results, run_cli


def test_names_lead_with_what_differs_seeds_and_folds_last():
    varied = ["optimizer", "seed", "data.fold"]
    assert display_name(["seed=1", "model=mlp", "optimizer=sgd", "data.fold=2"], varied) == "optimizer=sgd seed=1 fold=2"
    baseline = {"optimizer": "adam"}.get
    assert display_name(["model=mlp", "seed=0"], varied, baseline) == "baseline (optimizer=adam) seed=0"
    assert display_name(["model=mlp", "hydra.sweep.dir=/x", "optimizer=rmsprop"], ["optimizer"]) == "optimizer=rmsprop"
    # A single run: its own overrides, without where its data is or how it was run.
    single = ["model=mlp", "data.root=/d", "trainer.limit_train_batches=3", "trainer.max_epochs=2", "hydra.run.dir=/r"]
    assert display_name(single) == "model=mlp trainer.max_epochs=2"
    assert display_name([]) == "baseline"
    assert "/" not in display_name(["data.root=/a", "model=a/b"])


def test_job_line_counts_jobs_and_the_time_left():
    sweep_output.begin_study(106)
    try:
        sweep_output.study_stage("cnn_search")
        sweep_output._study.done, sweep_output._study.started = 11, 1000.0
        line = sweep_output.job_line({"status": "completed", "name": "optimizer=adam fold=2", "wall_s": 3.21,
                                      "val": {"acc": 0.86412}}, job_num=3, now=1000.0 + 240)
    finally:
        sweep_output.end_study()
    assert line == "[12/106] cnn_search optimizer=adam fold=2 · val acc 0.8641 · 3.2 s · study 4 min in, ~31 min left"


def test_ofat_sweep_names_runs_writes_the_hparams_config_and_prints_one_line_per_job(tmp_path):
    sweep = tmp_path / "sweep"
    proc = run_cli("-m", "hydra/sweeper=ofat", "optimizer=sgd,adam", "model=mlp", *TINY, f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Names: the baseline says what it stands for; the TensorBoard run is <job>/<name>, and
    # `tensorboard --logdir` of the sweep (or of multirun/) finds every run.
    assert [read_results(sweep / j)["name"] for j in ("0", "1")] == ["baseline (optimizer=adam)", "optimizer=sgd"]
    runs = EventMultiplexer().AddRunsFromDirectory(str(sweep)).Runs()
    assert set(runs) == {"0/baseline (optimizer=adam)", "1/optimizer=sgd"}
    # Progress: one line per job, Lightning's model table once.
    assert "[1/2] baseline (optimizer=adam) · val acc " in proc.stdout and "[2/2] optimizer=sgd · val acc " in proc.stdout
    assert proc.stdout.count("Total params") == 1 and "ablab: run completed" not in proc.stdout

    events = EventAccumulator(str(sweep / "1" / "optimizer=sgd"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    content = events.PluginTagToContent("hparams")
    experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
    hparams = {h.name: h for h in experiment.hparam_infos}
    assert [h.name for h in experiment.hparam_infos if h.differs] == ["optimizer"]  # the dashboard's first column
    assert {"model", "lr", "seed", "batch_size"} <= hparams.keys() and not {"trainer", "callbacks", "viz"} & hparams.keys()
    metrics = [m.name.tag for m in experiment.metric_infos]
    assert metrics[:2] == ["hp/test_acc", "hp/val_acc"] and {"hp/test_f1_macro", "hp/val_loss"} <= set(metrics)
    start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["seed"].string_value == "0" and start.hparams["batch_size"].string_value == "128"
    assert start.hparams["optimizer"].string_value == "sgd" and start.group_name.startswith("optimizer=sgd")
    assert metadata.SESSION_END_INFO_TAG in content

    scalars = set(events.Tags()["scalars"])
    assert "lr" in scalars and "epoch" not in scalars and not any(t.startswith("lr-") for t in scalars)
    assert not any(t.endswith("_micro") for t in scalars)  # equal to accuracy for one label per image
    for tag in (t for t in scalars if t.startswith("hp/")):  # one real value each, no NaN placeholder
        points = events.Scalars(tag)
        assert len(points) == 1 and math.isfinite(points[0].value), tag
    assert {"hp/test_acc", "hp/val_acc", "curves/loss_train", "curves/acc_val"} <= scalars
    assert min(t.split("/")[0] for t in scalars) == "curves"  # TensorBoard orders groups by name
