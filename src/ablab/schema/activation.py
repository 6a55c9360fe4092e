"""Schema of conf/activation: leaky ReLU's slope (the others take no values)."""
from ablab.schema.rules import Schema, number

SCHEMA = Schema(keys={"negative_slope": number(ge=0)})
