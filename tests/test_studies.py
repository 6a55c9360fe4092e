"""The five reference studies: each is one command; its dry run lists the protocol's jobs;
each runs end to end at a toy scale (one batch per job) and leaves its report."""
import json
import re
from pathlib import Path

import pytest
import yaml

from ablab.study.__main__ import main as study
from tests.conftest import run_cli

# Job counts from each study's protocol (issue 15), counted by hand, not by the planner.
# emnist_ofat: 2 models x (baseline 1 + scheduler 1 + activation 2 + optimizer 4 + norm 1
#   + regularizer 2 + dropout 2) x 4 folds, plus the 2 final runs.
# mnist_mlp_grid: 9 activation pairs + 3x2x3 coarse + 2x2 fine + 4 optimizers + 1 CNN.
# mnist_models: 4 models + 2x3 optimizer x lr (the prediction trains nothing).
# mnist_mlp_factors: 2 depths x (baseline + 4 activations + 3 losses) + the OFAT baseline
#   + lr 5 + momentum 6 + weight decay 4 + batch 4 + hidden 8 (values equal to the baseline's skipped).
# cifar10_lt: 2 balanced + 2 long tail + 2 oversampled + 1 ResNet-50 + (baseline + balanced
#   softmax + sampler) + 1 DRW.
PROTOCOL_JOBS = {
    "emnist_ofat": 2 * (1 + 1 + 2 + 4 + 1 + 2 + 2) * 4 + 2,
    "mnist_mlp_grid": 9 + 3 * 2 * 3 + 2 * 2 + 4 + 1,
    "mnist_models": 4 + 2 * 3,
    "mnist_mlp_factors": 2 * (1 + 4 + 3) + 1 + 5 + 6 + 4 + 4 + 8,
    "cifar10_lt": 2 + 2 + 2 + 1 + 3 + 1,
}
TOY = ["trainer.max_epochs=1", "trainer.limit_train_batches=1", "trainer.limit_val_batches=1",
       "trainer.limit_test_batches=1", "data.eval_batch_size=100", "viz=none"]


def dry_run(capsys, *args) -> list[str]:
    assert study([*args, "--dry-run"]) == 0
    return capsys.readouterr().out.strip().splitlines()


@pytest.mark.parametrize("name", sorted(PROTOCOL_JOBS))
@pytest.mark.parametrize("scale", ["paper", "quick"])
def test_dry_run_lists_the_protocols_jobs(capsys, name, scale):
    lines = dry_run(capsys, name, "--scale", scale)
    jobs = [line for line in lines[:-1] if not line.startswith("#")]
    assert lines[-1] == f"{PROTOCOL_JOBS[name]} jobs"
    assert len(jobs) == PROTOCOL_JOBS[name]


def test_dry_run_shows_each_jobs_overrides_and_what_it_carries(capsys):
    lines = dry_run(capsys, "emnist_ofat", "--scale", "paper")
    [final] = [line for line in lines if line.startswith("cnn_final: ")]
    assert final == "cnn_final: experiment=emnist_ofat <winner of cnn_search> model=cnn_emnist"
    # A greedy step runs on the winners of the factors before it; each line is the job's whole command.
    assert ("cnn_search: experiment=emnist_ofat model=cnn_emnist data.folds=4 viz=none "
            "scheduler=<best> activation=<best> optimizer=adam data.fold=3") in lines
    quick = dry_run(capsys, "emnist_ofat")
    assert all("trainer.limit_train_batches=16" in line for line in quick if line.startswith("mlp_search: "))


def test_user_overrides_reach_every_job_and_pin_a_swept_key(capsys):
    lines = dry_run(capsys, "emnist_ofat", "data.fold=0", "data.root=/somewhere")
    assert lines[-1] == f"{2 * 13 + 2} jobs"  # one fold instead of four
    jobs = [line for line in lines[:-1] if not line.startswith("#")]
    assert all("data.root=/somewhere" in j and "data.fold=0" in j for j in jobs)


def test_train_py_runs_a_study_too():
    done = run_cli("-m", "study=mnist_models", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "10 jobs"


@pytest.mark.parametrize("args, message", [
    (["emnist_ofatt"], "unknown study 'emnist_ofatt'; did you mean emnist_ofat?"),
    (["emnist_ofat", "--scale", "huge"], "unknown scale 'huge'; choose one of: paper, quick"),
    (["mnist_models", "optimizer=adamm"], "unknown optimizer 'adamm'"),
    (["mnist_models", "optimizer.lr=-1"], "optimizer.lr=-1"),
    (["mnist_models", "vars.nope=1"], "vars.nope is not a variable"),
])
def test_bad_input_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys, args, message):
    assert study([*args, "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ablab: error:") and message in err[0], err
    assert not (tmp_path / "s").exists()


def completed(stage_dir: Path) -> list[dict]:
    found = [json.loads(p.read_text()) for p in sorted(stage_dir.glob("*/results.json"))]
    return [r for r in found if r["status"] == "completed"]


def run_study(tmp_path, *args) -> Path:
    out = tmp_path / "study"
    done = run_cli("-m", *args, "--out", str(out), *TOY, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "report.md").is_file()
    return out


@pytest.mark.slow
def test_emnist_ofat_end_to_end(tmp_path, emnist_dir):
    out = run_study(tmp_path, "study=emnist_ofat", f"data.root={emnist_dir}", "data.fold=0")
    for stage in ("mlp_search", "cnn_search"):
        assert len(completed(out / stage)) == 13
    report = (out / "report.md").read_text()
    assert "| technique | value | acc CNN | acc MLP | loss CNN | loss MLP |" in report
    # The final runs train the greedy choice: ofat_best.yaml's overrides, on the full training split.
    for model in ("mlp", "cnn"):
        chosen = yaml.safe_load((out / f"{model}_search" / "ofat_best.yaml").read_text())["overrides"]
        [final] = completed(out / f"{model}_final")
        assert set(chosen) <= set(final["overrides"]) and "data.folds=4" not in final["overrides"]
        assert final["test"]["f1_macro"] is not None
    # Every row of the greedy table that ran has numbers for both models.
    rows = [line for line in report.splitlines() if line.startswith("| dropout |")]
    assert len(rows) == 3 and all("—" not in row for row in rows)
    assert report.count("★") >= 2 * 6  # each model's choice for each factor


@pytest.mark.slow
def test_mnist_models_end_to_end_writes_kaggle_predictions(tmp_path):
    out = run_study(tmp_path, "study=mnist_models")
    assert len(completed(out / "models")) == 4 and len(completed(out / "optimizers")) == 6
    lines = (out / "predict" / "predictions.csv").read_text().splitlines()
    assert lines[0] == "ImageId,Label" and len(lines) == 1 + 1000  # the embedded sample's test split
    assert all(re.fullmatch(r"\d+,\d", line) for line in lines[1:])
    report = (out / "report.md").read_text()
    assert "1000 predictions in `predict/predictions.csv`" in report
    assert report.count("★") >= 2  # each stage's chosen row


@pytest.mark.slow
def test_mnist_mlp_factors_end_to_end(tmp_path):
    out = run_study(tmp_path, "study=mnist_mlp_factors")
    assert [len(completed(out / s)) for s in ("one_hidden", "two_hidden", "factors")] == [8, 8, 28]
    report = (out / "report.md").read_text()
    assert "| model.hidden=[2048] |" in report and "images/s" in report and "wall s" in report


@pytest.mark.slow
def test_mnist_mlp_grid_end_to_end_carries_winners(tmp_path):
    out = run_study(tmp_path, "study=mnist_mlp_grid")
    counts = [len(completed(out / s)) for s in ("activations", "coarse", "fine", "optimizers", "cnn")]
    assert counts == [9, 18, 4, 4, 1]
    best = max(completed(out / "activations"), key=lambda r: r["val"]["acc"])
    pair = next(o for o in best["overrides"] if o.startswith("model.activations="))
    assert all(pair in r["overrides"] for r in completed(out / "optimizers"))
    report = (out / "report.md").read_text()
    for title in ("Activation pairs", "Coarse grid", "Fine grid"):
        assert f"### {title}" in report
    assert "| configuration | n | train acc | val acc | test acc |" in report


@pytest.mark.slow
def test_cifar10_lt_end_to_end_reports_head_and_tail(tmp_path, cifar_dir):
    out = run_study(tmp_path, "study=cifar10_lt", f"data.root={cifar_dir}")
    counts = [len(completed(out / s)) for s in ("balanced", "longtail", "oversample", "resnet50", "losses", "drw")]
    assert counts == [2, 2, 2, 1, 3, 1]
    [tail] = completed(out / "longtail")[:1]
    assert tail["train_class_counts"] and tail["test"]["shots"]["tail"] is not None
    rows = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| longtail |")]
    assert len(rows) == 2 and all("—" not in row for row in rows)


def test_a_studys_baseline_is_its_experiment_config_top_level_keys_included():
    from hydra import compose, initialize_config_dir

    from ablab.paths import CONF_DIR

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose("train", ["experiment=emnist_ofat"])
        swept = compose("train", ["experiment=emnist_ofat", "dropout=0.5", "optimizer=sgd"])
    # dropout is train.yaml's own key: the experiment must win over it (its _self_ comes first).
    assert cfg.dropout == 0.1 and cfg.optimizer._target_.endswith("Adagrad") and cfg.optimizer.lr == 1e-3
    assert cfg.scheduler.lr_scheduler.step_size == 10 and cfg.scheduler.lr_scheduler.gamma == 0.9
    assert cfg.regularizer._target_.endswith("L1") and cfg.regularizer.strength == 0.01
    assert cfg.data.batch_size == 128 and cfg.trainer.max_epochs == 30
    # A sweep's value replaces the baseline's; the experiment's values stay on the new choice.
    assert swept.dropout == 0.5 and swept.optimizer._target_.endswith("SGD") and swept.optimizer.lr == 1e-3


def test_seeds_auto_leaves_the_seeds_to_the_ofat_sweeper(capsys):
    lines = dry_run(capsys, "emnist_ofat", "--seeds", "auto", "data.fold=0")
    # Greedy stages: 3 seeds per configuration to start (more only where a verdict is undecided).
    assert any(line.startswith("# mlp_search (greedy") and "seed=auto" in line for line in lines)
    jobs = [line for line in lines if line.startswith("mlp_search: ")]
    assert len(jobs) == 13 * 3 and any(line.endswith("data.fold=0 seed=2") for line in jobs)
    from ablab.study import plan, spec

    study = spec.load("emnist_ofat", "quick", {})
    stage = plan.auto_seeds(study.stage("mlp_search"))
    assert "seed=auto" in plan.command(study, stage, [], [])
