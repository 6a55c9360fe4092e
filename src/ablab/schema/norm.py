"""Schema of conf/norm: group norm's number of groups (the others take no values)."""
from ablab.schema.rules import Schema, integer

SCHEMA = Schema(keys={"groups": integer(ge=1)})
