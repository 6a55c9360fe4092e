"""Schema of conf/regularizer: the weight penalty's strength."""
from ablab.schema.rules import Schema, number

SCHEMA = Schema(keys={"strength": number(ge=0)})
