"""Schema of conf/augment: the training augmentations' strengths (ablab.data.augment)."""
from ablab.schema.rules import Rule, Schema, boolean, integer, is_number, number

SCHEMA = Schema(targets={
    "ablab.data.augment.Affine": {
        "degrees": number(ge=0, le=180),
        "translate": number(ge=0, le=1),
        "scale": Rule(lambda v: isinstance(v, list) and len(v) == 2 and all(is_number(s) and s > 0 for s in v)
                      and v[0] <= v[1], "[low, high] with 0 < low <= high, e.g. [0.9,1.1]"),
    },
    "ablab.data.augment.CropFlip": {"padding": integer(ge=0), "flip": boolean()},
})
