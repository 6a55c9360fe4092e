"""OFAT sweeps: the job list, greedy carry-over, scoring, and the real plugin under Hydra."""
import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from ablab.sweeps.greedy import GreedySearch
from ablab.sweeps.ofat import UNKNOWN, baseline_lookup, plan_jobs, score_of, split_overrides

SWEEP = ["optimizer=sgd,adam,rmsprop", "scheduler=step,exponential", "dropout=0,0.1,0.5",
         "trainer.max_epochs=3"]


def spec_of(args, defaults=None, **kw):
    lookup = (lambda key: defaults.get(key, UNKNOWN)) if defaults else (lambda key: UNKNOWN)
    return split_overrides(OverridesParser.create().parse_overrides(args), lookup, **kw)


def test_plain_ofat_runs_baseline_then_one_factor_at_a_time():
    jobs = plan_jobs(spec_of(SWEEP))
    assert len(jobs) == 1 + 3 + 2 + 3  # not 3 * 2 * 3
    assert jobs[0] == ["trainer.max_epochs=3"]
    assert all(job[0] == "trainer.max_epochs=3" and len(job) == 2 for job in jobs[1:])
    assert [job[1] for job in jobs[1:4]] == ["optimizer=sgd", "optimizer=adam", "optimizer=rmsprop"]
    assert jobs[-1] == ["trainer.max_epochs=3", "dropout=0.5"]


def test_values_equal_to_the_baseline_run_once():
    # dropout's default 0.0 matches the listed 0; the scheduler default is not listed.
    spec = spec_of(SWEEP, {"optimizer": "sgd", "scheduler": "cosine", "dropout": 0.0})
    assert [f.default for f in spec.factors] == ["sgd", None, "0"]
    jobs = plan_jobs(spec)
    assert len(jobs) == 1 + 2 + 2 + 2
    assert ["trainer.max_epochs=3", "optimizer=sgd"] not in jobs
    assert ["trainer.max_epochs=3", "dropout=0"] not in jobs


def test_seeds_repeat_every_job_instead_of_being_a_factor():
    spec = spec_of(["optimizer=sgd,adam", "seed=1,2,3"], {"optimizer": "sgd"})
    jobs = plan_jobs(spec)
    assert len(jobs) == (1 + 1) * 3
    assert jobs[:3] == [["seed=1"], ["seed=2"], ["seed=3"]]
    assert jobs[3] == ["optimizer=adam", "seed=1"]


def test_interval_sweeps_are_refused():
    with pytest.raises(ValueError, match="interval"):
        spec_of(["lr=interval(0.1,1)"])


def test_baseline_lookup_reads_choices_and_plain_values():
    cfg = OmegaConf.create({"hydra": {"runtime": {"choices": {"optimizer": "sgd"}}},
                            "dropout": 0.1, "trainer": {"max_epochs": 3}})
    default_of = baseline_lookup(cfg)
    assert default_of("optimizer") == "sgd"
    assert default_of("dropout") == 0.1
    assert default_of("trainer") is UNKNOWN and default_of("nope") is UNKNOWN


def run_greedy(spec, table, mode="max"):
    """Drive a GreedySearch with scores looked up from the job's overrides."""
    search, launched = GreedySearch(spec, mode), []
    while not search.done():
        batch = search.next_batch()
        launched += batch
        search.tell([table(set(job)) for job in batch])
    return search, launched


def test_greedy_carries_each_winner_into_the_next_factor():
    spec = spec_of(SWEEP, {"optimizer": "sgd", "dropout": 0.0})
    gain = {"optimizer=adam": 2.0, "optimizer=rmsprop": 1.0, "scheduler=exponential": 0.5,
            "dropout=0.1": -1.0}
    search, launched = run_greedy(spec, lambda job: 1.0 + sum(gain.get(o, 0) for o in job))
    assert len(launched) == 1 + 2 + 2 + 2
    assert ["trainer.max_epochs=3", "optimizer=adam", "scheduler=exponential", "dropout=0.5"] in launched
    best = search.summary("val.acc")
    assert best["overrides"] == ["optimizer=adam", "scheduler=exponential"]  # dropout stays 0
    assert best["score"] == 3.5
    assert [s["winner"] for s in best["steps"]] == ["adam", "exponential", "0"]


def test_greedy_min_mode_ties_and_failures_keep_the_incumbent():
    spec = spec_of(["optimizer=sgd,adam", "dropout=0.1,0.5", "seed=1,2"], {"optimizer": "sgd"})
    scores = {"optimizer=adam": None, "dropout=0.1": 1.0, "dropout=0.5": 0.5}

    def loss(job):  # seed 2 fails everywhere: the mean is over what finished
        if "seed=2" in job:
            return None
        return next((v for k, v in scores.items() if k in job), 1.0)

    search, launched = run_greedy(spec, loss, mode="min")
    assert len(launched) == (1 + 1 + 2) * 2
    assert search.summary("val.loss")["overrides"] == ["dropout=0.5"]
    assert search.steps[1]["scores"] == {"<default>": 1.0, "0.1": 1.0, "0.5": 0.5}
    with pytest.raises(ValueError, match="mode"):
        GreedySearch(spec, "best")


def test_greedy_with_repeats_keeps_the_default_unless_significantly_beaten():
    import numpy as np
    from scipy import stats

    spec = spec_of(["optimizer=sgd,adam", "dropout=0,0.1", "seed=0,1,2,3,4"], {"optimizer": "sgd", "dropout": 0.0})
    rng = np.random.default_rng(7)
    noise = {seed: rng.normal(0, 0.003) for seed in range(5)}  # shared per seed: the pairing removes it
    jitter = {(o, seed): rng.normal(0, 0.003) for o in ("base", "adam", "drop") for seed in range(5)}

    def score(job):
        seed = int(next(o for o in job if o.startswith("seed="))[5:])
        which = "drop" if "dropout=0.1" in job else "adam" if "optimizer=adam" in job else "base"
        gain = {"base": 0.0, "adam": 0.001, "drop": 0.02}[which]  # adam: a better mean, but noise
        return 0.9 + gain + noise[seed] + jitter[(which, seed)]

    search, launched = run_greedy(spec, score)
    opt, drop = search.steps
    base = [score({"seed=%d" % s}) for s in range(5)]
    adam = [score({"optimizer=adam", "seed=%d" % s}) for s in range(5)]
    assert np.mean(adam) > np.mean(base)  # the old rule would have taken adam
    # +0.1 points at 0.4 points of noise: not a significant gain (undecided, or equivalent within ±0.5)
    assert opt["winner"] == "sgd" and opt["tests"]["adam"]["verdict"] in ("undecided", "equivalent")
    assert opt["tests"]["adam"]["p_value"] == pytest.approx(stats.ttest_rel(adam, base).pvalue)
    assert "kept sgd" in opt["note"] and "not a significant improvement" in opt["note"]
    assert opt["correction"] == "holm" and opt["family"] == 1
    assert drop["winner"] == "0.1" and drop["tests"]["0.1"]["verdict"] == "better"
    assert search.summary("val.acc")["overrides"] == ["dropout=0.1"]


def test_score_prefers_results_json_and_its_status(tmp_path):
    assert score_of({"val": {"acc": 0.7}}, None, "val.acc") == 0.7
    assert score_of(0.5, None, "val.acc") == 0.5
    assert score_of(float("nan"), None, "val.acc") is None
    (tmp_path / "results.json").write_text(json.dumps({"status": "completed", "val": {"acc": 0.9}}))
    assert score_of(0.1, str(tmp_path), "val.acc") == 0.9
    (tmp_path / "results.json").write_text(json.dumps({"status": "diverged", "val": {"acc": 0.9}}))
    assert score_of(0.1, str(tmp_path), "val.acc") is None


def test_plugin_is_discovered():
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    assert "OFATSweeper" in [p.__name__ for p in Plugins.instance().discover(Sweeper)]


APP = '''
import json, pathlib, hydra
from hydra.core.hydra_config import HydraConfig

@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    acc = cfg.optimizer.gain + {0.0: 0.0, 0.1: 0.5, 0.5: -1.0}[cfg.dropout]
    out = pathlib.Path(HydraConfig.get().runtime.output_dir)
    (out / "results.json").write_text(json.dumps({"status": "completed", "val": {"acc": acc}}))

main()
'''


def test_greedy_sweep_through_hydra(tmp_path):
    (tmp_path / "conf" / "optimizer").mkdir(parents=True)
    (tmp_path / "conf" / "config.yaml").write_text(
        "defaults:\n  - optimizer: sgd\n  - _self_\ndropout: 0.0\nepochs: 1\n")
    for name, gain in [("sgd", 1), ("adam", 3), ("rmsprop", 2)]:
        (tmp_path / "conf" / "optimizer" / f"{name}.yaml").write_text(f"gain: {gain}\n")
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "app.py", "-m", "hydra/sweeper=ofat", "hydra.sweeper.greedy=true",
           "optimizer=sgd,adam,rmsprop", "dropout=0,0.1,0.5", "epochs=2", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [p.name for p in jobs] == ["0", "1", "2", "3", "4"]  # baseline + 2 + 2, no repeats
    overrides = [OmegaConf.load(p / ".hydra" / "overrides.yaml") for p in jobs]
    assert list(overrides[0]) == ["epochs=2"]
    assert list(overrides[4]) == ["epochs=2", "optimizer=adam", "dropout=0.5"]
    best = OmegaConf.load(sweep / "ofat_best.yaml")
    assert list(best.overrides) == ["optimizer=adam", "dropout=0.1"] and best.score == 3.5
    assert "optimizer=adam dropout=0.1" in proc.stdout + proc.stderr


NOISY_APP = '''
import json, pathlib, random, hydra
from hydra.core.hydra_config import HydraConfig

@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg):
    # sgd 0.90, adam +2 points, rmsprop the same as sgd; 0.3 points of run noise per (config, seed)
    rng = random.Random(f"{cfg.optimizer.gain}-{cfg.seed}")
    acc = 0.90 + {1: 0.0, 3: 0.02, 2: 0.0}[cfg.optimizer.gain] + rng.gauss(0, 0.003)
    out = pathlib.Path(HydraConfig.get().runtime.output_dir)
    (out / "results.json").write_text(json.dumps({"status": "completed", "overrides": list(
        HydraConfig.get().overrides.task), "seed": cfg.seed, "val": {"acc": acc}}))

main()
'''


@pytest.mark.parametrize("greedy", [False, True])
def test_seed_auto_through_hydra(tmp_path, greedy):
    (tmp_path / "conf" / "optimizer").mkdir(parents=True)
    (tmp_path / "conf" / "config.yaml").write_text("defaults:\n  - optimizer: sgd\n  - _self_\nseed: 0\n")
    for name, gain in [("sgd", 1), ("adam", 3), ("rmsprop", 2)]:
        (tmp_path / "conf" / "optimizer" / f"{name}.yaml").write_text(f"gain: {gain}\n")
    (tmp_path / "app.py").write_text(textwrap.dedent(NOISY_APP))
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "app.py", "-m", "hydra/sweeper=ofat", f"hydra.sweeper.greedy={str(greedy).lower()}",
           "optimizer=adam,rmsprop", "seed=auto", "hydra.sweeper.max_seeds=6", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = yaml.safe_load((sweep / "seed_auto.yaml").read_text())
    assert record["looks"] == 4 and "α-spending" in record["rule"]
    assert sum(record["alpha_looks"]) == pytest.approx(0.05, abs=1e-5) and len(record["alpha_looks"]) == 4
    jobs = [p for p in sweep.iterdir() if (p / "results.json").is_file()]
    seeds = [json.loads((p / "results.json").read_text())["seed"] for p in jobs]
    assert min(seeds) == 0 and max(seeds) <= 5 and len(jobs) >= 9  # 3 configurations x at least 3 seeds
    if greedy:
        best = yaml.safe_load((sweep / "ofat_best.yaml").read_text())
        [step] = best["steps"]
        assert best["overrides"] == ["optimizer=adam"] and step["tests"]["adam"]["verdict"] == "better"
        assert step["correction"] == "holm" and step["family"] == 2 and best["seeds"] == [3, 6]
    else:
        rows = {r["configuration"]: r for r in record["rows"]}
        assert rows["optimizer=adam"]["verdict"] == "better"
        assert rows["optimizer=adam"]["stopped"] == "decided (better)"
        # rmsprop is truly the same as sgd: equivalent once decided, else it ran to max_seeds
        assert rows["optimizer=rmsprop"]["verdict"] in ("equivalent", "undecided")
        assert rows["(baseline)"]["seeds"] == max(r["seeds"] for r in record["rows"])


# --- a real seed=auto sweep on the embedded sample ------------------------------------------------

@pytest.mark.slow
def test_seed_auto_sweep_end_to_end(tmp_path):
    from tests.conftest import TINY, run_cli

    sweep = tmp_path / "auto"
    proc = run_cli("-m", "hydra/sweeper=ofat", "model=mlp", "optimizer=choice(sgd)", "seed=auto",
                   "hydra.sweeper.max_seeds=4", *TINY, f"hydra.sweep.dir={sweep}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = yaml.safe_load((sweep / "seed_auto.yaml").read_text())
    assert record["min_seeds"] == 3 and record["max_seeds"] == 4 and record["looks"] == 2
    seeds = {row["configuration"]: row["seeds"] for row in record["rows"]}
    assert 3 <= seeds["optimizer=sgd"] <= 4 and seeds["(baseline)"] >= seeds["optimizer=sgd"]
    jobs = [p for p in sweep.iterdir() if (p / "results.json").is_file()]
    assert len(jobs) == sum(seeds.values())
    results = json.loads((jobs[0] / "results.json").read_text())
    assert results["val_size"] > 0  # n_val, for the corrected test over folds
    from ablab.report.__main__ import main

    assert main([str(sweep)]) == 0
    import csv

    rows = {r["name"]: r for r in csv.DictReader(open(sweep / "report.csv"))}
    sgd = rows["optimizer=sgd"]
    assert sgd["verdict"] in ("better", "worse", "equivalent", "undecided") and int(sgd["seeds"]) == seeds["optimizer=sgd"]
    assert rows["optimizer=adam (baseline)"]["verdict"] == "reference"
    md = (sweep / "report.md").read_text()
    assert "α spent over 2 looks" in md and "why it stopped" in md
    # Repeating the command reuses the finished runs: no job runs again.
    written = {p.name: (p / "results.json").stat().st_mtime_ns for p in jobs}
    again = run_cli("-m", "hydra/sweeper=ofat", "model=mlp", "optimizer=choice(sgd)", "seed=auto",
                    "hydra.sweeper.max_seeds=4", *TINY, f"hydra.sweep.dir={sweep}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert yaml.safe_load((sweep / "seed_auto.yaml").read_text())["rows"] == record["rows"]
    assert {p.name: (p / "results.json").stat().st_mtime_ns for p in jobs} == written
