"""What TensorBoard's HParams dashboard shows of a run: the configuration a person compares.

Written as the hparams plugin's own summaries, not through Lightning's `log_hyperparams`
(which logs every hparam alphabetically and a NaN point per metric at step 0):
- the experiment config (`hparams_config`): every hparam and the metrics `~hp/val_*`, then
  `~hp/test_*`. The dashboard shows the first five hparams, sorted by name with those marked
  `differs` first, and the first five metrics; `differs` marks what varies within the run's
  sweep (its swept keys, the seed when seeds vary, the weight count when the architecture or
  the data varies, and `run`, the description, which every run has its own), so it opens on
  the swept factors and val acc, val F1, val loss, test acc, test F1, and a sweep of fewer
  than five varying values shows the description in a slot a constant would fill. TensorBoard takes the columns of one run's experiment for the whole logdir, so
  every run lists every value of its configuration, not only its sweep's;
- the session start (the run's values) and, at the end, the session end.

The values: each factor's choice (`optimizer`, `model`, ...), every plain value of the parts
that define what is trained, by its dotted key (`model.hidden` `[512,256,128]`,
`optimizer.betas`, `scheduler.lr_scheduler.pct_start`, `data.val_fraction`; the common ones
as `lr`, `weight_decay`, `batch_size`, `max_epochs`), `dropout`, `seed`, `params` (the weight
count) and `run`, the run's full description (ablab.run.names: every differing override, its
sweep and job). Integers and lists are categories, written as text so they read `0`, not
`0.0000`. The metric values are the scalars train.py logs once, at the end.
"""
from __future__ import annotations

import time
from typing import Iterable

from ablab import upstream

# Final metrics beside each run's factors, as ~hp/<split>_<name> (the chart group TensorBoard's
# Scalars sorts last: ablab.run.tensorboard); the first five are shown.
GROUP = "~hp"
METRICS = [("val", "acc"), ("val", "f1_macro"), ("val", "loss"), ("test", "acc"), ("test", "f1_macro"),
           ("test", "loss"), ("val", "precision_macro"), ("val", "recall_macro"),
           ("test", "precision_macro"), ("test", "recall_macro")]
# Config groups that are not factors a person compares (how the run is run, not what it trains).
NOT_FACTORS = ("trainer", "callbacks", "viz", "hparams_search")
# The parts whose plain values are listed, each under its dotted key.
PARTS = ("model", "optimizer", "scheduler", "data", "loss", "regularizer", "augment", "sampler")
# Keys that say where or how fast, not what is trained.
NOT_VALUES = ("_target_", "_partial_", "root", "cache", "channels_last", "fused", "foreach", "num_workers",
              "pin_memory", "download", "interval", "horizon_arg", "in_memory", "eval_batch_size")
# A key under the name a person knows it by.
ALIASES = {"optimizer.lr": "lr", "optimizer.weight_decay": "weight_decay", "data.batch_size": "batch_size",
           "trainer.max_epochs": "max_epochs"}
# Keys whose change changes the network's weights: the weight count differs with them.
SHAPES = ("model", "data")


def _flat(node, prefix: str, into: dict) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if str(key) not in NOT_VALUES:
                _flat(value, f"{prefix}.{key}", into)
    elif isinstance(node, list):
        into[ALIASES.get(prefix, prefix)] = _text(node)
    elif node is not None:
        into[ALIASES.get(prefix, prefix)] = float(node) if isinstance(node, float) else str(node)


def _text(value) -> str:
    return "[" + ",".join(_text(v) if isinstance(v, list) else str(v) for v in value) + "]" \
        if isinstance(value, list) else str(value)


def values(cfg, choices: dict, params: int, swept: list[str] = (), description: str = "") -> dict:
    """hparam name -> value: the factor choices, every plain value of what is trained, seed,
    fold, the weight count and the run's description."""
    from omegaconf import OmegaConf

    found = {k: str(v) for k, v in choices.items()
             if not k.startswith("hydra") and k not in NOT_FACTORS and v is not None}
    for part in PARTS:
        try:
            node = OmegaConf.to_container(cfg[part], resolve=True) if part in cfg else None
        except Exception:  # an interpolation that does not resolve here: its part is left out
            node = None
        _flat(node, part, found)
    found.update({
        "dropout": float(cfg.dropout),
        "max_epochs": str(int(cfg.trainer.max_epochs)),
        "seed": str(int(cfg.seed)),
        "params": str(params),
    })
    if "data.fold" not in swept:
        found.pop("data.fold", None)
    for key in swept:  # a swept value the parts above do not hold
        name = ALIASES.get(key, key)
        if name not in found:
            value = OmegaConf.select(cfg, key, default=None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[name] = float(value) if isinstance(value, float) else str(value)
            elif value is not None:
                found[name] = _text(OmegaConf.to_container(value)) if OmegaConf.is_list(value) else str(value)
    if description:
        found["run"] = description
    return found


def differing(swept: Iterable[str]) -> set[str]:
    """The hparams that vary within a sweep that varies `swept` (the seed is always varied by a
    sweep that names seeds or seed=auto, ablab.run.names.varied_keys)."""
    swept = list(swept)
    found = {ALIASES.get(k, k) for k in swept}
    if any(k == part or k.startswith(part + ".") for k in swept for part in SHAPES):
        found.add("params")
    return found


def metric_tag(split: str, name: str) -> str:
    return f"{GROUP}/{split}_{name}"


def _summary(tag: str, data):
    """A Summary holding the hparams plugin's data (tensorboard's own helper needs TensorFlow)."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata

    return Summary(value=[Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data))])


def summaries(hparams: dict, swept: Iterable[str], group: str):
    """The experiment config and the session start, as TensorBoard Summary protos."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    differs = differing(swept) | {"run"}  # each run its own: a varying column, not a constant, fills a slot
    infos, start = [], plugin_data_pb2.SessionStartInfo(group_name=group, start_time_secs=time.time())
    for name, value in hparams.items():
        number = isinstance(value, float)
        infos.append(api_pb2.HParamInfo(name=name, type=api_pb2.DATA_TYPE_FLOAT64 if number else api_pb2.DATA_TYPE_STRING,
                                        differs=name in differs))
        if number:
            start.hparams[name].number_value = value
        else:
            start.hparams[name].string_value = str(value)
    datasets = {"val": api_pb2.DATASET_VALIDATION, "test": api_pb2.DATASET_UNKNOWN}
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=metric_tag(s, n)), display_name=f"{s} {n}",
                                  dataset_type=datasets[s]) for s, n in METRICS]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics, time_created_secs=time.time())
    return (_summary(metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)),
            _summary(metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=start)))


def write_start(writer, hparams: dict, swept: Iterable[str], group: str) -> None:
    """Into a torch SummaryWriter (the TensorBoard logger's `experiment`)."""
    for pb in summaries(hparams, list(swept), group):
        _add(writer, pb)


def write_end(writer, completed: bool) -> None:
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS if completed else api_pb2.STATUS_FAILURE,
                                         end_time_secs=time.time())
    if _add(writer, _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))):
        writer.flush()


def _add(writer, pb) -> bool:
    """Into the writer's event file; DDP ranks other than zero have a no-op writer (None)."""
    file_writer = upstream.file_writer(writer)
    if file_writer is None:
        return False
    file_writer.add_summary(pb)
    return True
