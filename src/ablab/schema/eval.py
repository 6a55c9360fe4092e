"""Schema of conf/eval.yaml's own keys: only ckpt_path, which ablab.checkpoint checks as it loads."""
from ablab.schema.rules import Schema

SCHEMA = Schema()
