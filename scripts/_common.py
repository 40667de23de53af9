"""What several scripts share: where the reference data and the FaceLandmarker model are, and
a work folder that is removed at the end unless it is asked for.

The reference data is ``$WDS_EDGE_SHARED``, else ``../shared`` beside the repository (the rule
of tests/conftest.py, scripts/train_starter_model.sh and benchmarks/run_cpu_suite.sh); the
FaceLandmarker model is ``$WDS_EDGE_FACE_LANDMARKER``, else the one in that folder. Both are
read when called, so a variable set after the import counts.

Not a script (no ``main``): the scripts beside it import it by name (``python scripts/X.py``
puts ``scripts/`` first on ``sys.path``; a script loaded another way inserts it itself).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from wds_edge.perception.landmarker_model import FACE_LANDMARKER_ENV, FACE_LANDMARKER_FILENAME

REPO = Path(__file__).resolve().parents[1]
SHARED_ENV = "WDS_EDGE_SHARED"

__all__ = ["REPO", "SHARED_ENV", "shared_root", "shared_landmarker", "work_dir"]


def shared_root() -> Path:
    """The reference data folder: ``$WDS_EDGE_SHARED``, else ``../shared`` beside the repo."""
    return Path(os.environ.get(SHARED_ENV) or REPO.parent / "shared")


def shared_landmarker() -> Path:
    """``$WDS_EDGE_FACE_LANDMARKER``, else :func:`shared_root`'s ``models/face_landmarker.task``."""
    env = os.environ.get(FACE_LANDMARKER_ENV)
    return Path(env) if env else shared_root() / "models" / FACE_LANDMARKER_FILENAME


@contextlib.contextmanager
def work_dir(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A fresh temporary folder, removed with everything in it when the block ends (also on
    an error); with ``keep`` it stays, and its path is printed so it can be found."""
    if keep:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        print(f"# work folder (kept: --keep-work): {path}", flush=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
