"""train/__init__: public names resolve lazily; labeling and baselines need no torch."""

from __future__ import annotations

import subprocess
import sys

import wds_edge_train as train

_NO_TORCH = """
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
import numpy as np
from wds_edge_train import semi_automatic_label, pearson_correlation, baseline_segment
image = np.full((64, 64, 3), 200, np.uint8)
image[30:33, 8:56] = 60  # a dark horizontal line: a wrinkle-like ridge
rough = np.zeros((64, 64), bool)
rough[24:40, 4:60] = True
label = semi_automatic_label(image, rough, "gaussian")
assert label[31, 20] and not label[5, 5], "the line is labelled, the empty corner is not"
assert "torch" not in {m.split(".")[0] for m in sys.modules if sys.modules[m] is not None}
print("ok")
"""


def test_labeling_runs_without_torch() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_public_name_resolves() -> None:
    for name in train.__all__:
        assert getattr(train, name) is not None
    assert train.load_checkpoint.__module__ == "wds_edge_train.checkpoint"
    assert "WrinkleUNet" in dir(train)
