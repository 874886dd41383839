import json
import math

import numpy as np

from edgekit.jsontext import dumps


def test_non_finite_numbers_become_null():
    text = dumps({"snr_db": math.inf, "auc": math.nan, "rows": [1.5, -math.inf, (2, np.float64("inf"))]}, sort_keys=True)
    assert text == '{"auc": null, "rows": [1.5, null, [2, null]], "snr_db": null}'
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict parsers accept it
