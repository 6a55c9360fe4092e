"""What TensorBoard's HParams dashboard shows of a run: the configuration a person compares.

Written as the hparams plugin's own summaries, not through Lightning's `log_hyperparams`
(which logs every hparam alphabetically and a NaN point per metric at step 0):
- the experiment config (`hparams_config`): every hparam and the metrics `hp/val_*`,
  `hp/test_*`, the main ones first. The dashboard ticks the first five hparams, those
  marked `differs` first, and the first five metrics, so it opens on the swept factors and
  the accuracies;
- the session start (the run's values) and, at the end, the session end.
Integers (seed, fold, batch size, epochs, parameters) are categories, written as text so
they read `0`, not `0.0000`. The metric values are the scalars train.py logs once, at the end.
"""
from __future__ import annotations

import time
from typing import Iterable

from ablab import upstream

# Final metrics beside each run's factors, as hp/<split>_<name>; the first five are shown.
METRICS = [("test", "acc"), ("val", "acc"), ("test", "f1_macro"), ("val", "f1_macro"), ("test", "loss"),
           ("val", "loss"), ("test", "precision_macro"), ("test", "recall_macro"),
           ("val", "precision_macro"), ("val", "recall_macro")]
# Config groups that are not factors a person compares (how the run is run, not what it trains).
NOT_FACTORS = ("trainer", "callbacks", "viz", "hparams_search")
# A swept key that is one of the standard hparams below, under that hparam's name.
ALIASES = {"optimizer.lr": "lr", "optimizer.weight_decay": "weight_decay", "data.batch_size": "batch_size",
           "trainer.max_epochs": "max_epochs"}


def values(cfg, choices: dict, params: int, swept: list[str] = ()) -> dict:
    """hparam name -> value: the factor choices, the values a sweep sets, seed and fold."""
    from omegaconf import OmegaConf

    found = {k: str(v) for k, v in choices.items()
             if not k.startswith("hydra") and k not in NOT_FACTORS and v is not None}
    found.update({
        "dropout": float(cfg.dropout),
        "lr": float(cfg.optimizer.lr),
        "weight_decay": float(cfg.optimizer.get("weight_decay") or 0.0),
        "batch_size": str(int(cfg.data.batch_size)),
        "max_epochs": str(int(cfg.trainer.max_epochs)),
        "seed": str(int(cfg.seed)),
        "params": str(params),
    })
    if "data.fold" in swept and cfg.data.get("fold") is not None:
        found["data.fold"] = str(cfg.data.fold)
    for key in swept:  # a swept value the list above does not hold (e.g. model.width)
        name = ALIASES.get(key, key)
        if name not in found:
            value = OmegaConf.select(cfg, key, default=None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                found[name] = float(value) if isinstance(value, float) else str(value)
            elif value is not None:
                found[name] = str(value)
    return found


def _summary(tag: str, data):
    """A Summary holding the hparams plugin's data (tensorboard's own helper needs TensorFlow)."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import metadata

    return Summary(value=[Summary.Value(tag=tag, metadata=metadata.create_summary_metadata(data))])


def summaries(hparams: dict, swept: Iterable[str], group: str):
    """The experiment config and the session start, as TensorBoard Summary protos."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    differs = {ALIASES.get(k, k) for k in swept}
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
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=f"hp/{s}_{n}"), display_name=f"{s} {n}",
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
