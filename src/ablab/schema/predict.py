"""Schema of conf/predict.yaml's keys. Whether the device asked for is on this machine is
asked by ablab.run.devices when predict starts (it needs torch)."""
from ablab.schema.rules import Rule, Schema, integer

SCHEMA = Schema(keys={
    "batch_size": integer(ge=1),
    "device": Rule(lambda v: isinstance(v, str) and v.split(":")[0] in ("auto", "cpu", "cuda", "mps"),
                   "auto, cpu, cuda or mps"),
})
