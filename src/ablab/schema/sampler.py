"""Schema of conf/sampler: the options take no values (data.longtail.oversample's check
looks at which sampler is chosen)."""
from ablab.schema.rules import Schema

SCHEMA = Schema()
