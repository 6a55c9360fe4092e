"""Schema of conf/eval.yaml's own keys: only ckpt_path, which ablab.run.checkpoint checks as it loads."""
from ablab.schema.rules import Schema

SCHEMA = Schema()
