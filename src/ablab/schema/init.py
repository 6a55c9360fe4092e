"""Schema of conf/init: the initialisations take no values."""
from ablab.schema.rules import Schema

SCHEMA = Schema()
