"""What a reduced-precision engine is gated against, and on which crops.

The accuracy gate (:mod:`wds_edge.runtime.gate`) compares the engine with the **FP32**
model in ONNX Runtime on crops the engine was **not** made from:

* the reference is the FP32 ONNX. For an engine built from a Q/DQ ONNX (``wds-edge
  quantize``), that is the FP32 model the Q/DQ one was made from: its sha256 is in the
  Q/DQ model's ``quantization`` metadata (``source_sha256``), and the file is the one
  passed as ``reference_onnx`` or the one named there (``source_name``) next to the Q/DQ
  model. Comparing a Q/DQ engine with the same Q/DQ model in ONNX Runtime would gate
  INT8 against INT8.
* FP16: any kiosk crops (``gate_crops``, else the calibration crops: FP16 is not made
  from them). INT8: held-out crops only (``gate_crops``), never the calibration crops.
* ``gate_crops="synthetic"``: the SDK's synthetic skin crops
  (:class:`~wds_edge.runtime.probe_inputs.SyntheticCrops`), for kiosks without crops of
  their own. Whatever the crops, a gate counts only when the FP32 model segments wrinkles
  on them (else the gate's verdict is "not gated",
  :func:`wds_edge.runtime.gate.reference_problem`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge.errors import AccuracyGateError, BackendUnavailableError, InvalidInputError
from wds_edge.io import sha256_file
from wds_edge.model.metadata import ModelMetadata
from wds_edge.runtime.gate import GateResult, accuracy_gate
from wds_edge.runtime.probe_inputs import SyntheticCrops
from wds_edge.runtime.quantized import qdq_info
from wds_edge.runtime.tensorrt.int8 import CropSource, Int8Calibration

__all__ = ["GatePlan", "plan_gate", "qdq_info", "read_refusal", "run_gate", "write_refusal"]

logger = logging.getLogger(__name__)


@dataclass
class GatePlan:
    """The FP32 reference model and the crops a new engine is compared on."""

    reference_onnx: Path
    reference_sha256: str
    crops: CropSource

    def identity(self, key: dict[str, Any]) -> dict[str, Any]:
        """What a refused engine's record must match to be refused again without a build."""
        return {"key": key, "reference_onnx_sha256": self.reference_sha256,
                "crops_sha256": self.crops.data_sha256}  # fmt: skip

    def record(self, gate: GateResult) -> dict[str, Any]:
        """The gate's figures plus what it compared (the sidecar's ``accuracy_gate``)."""
        return {
            **gate.to_dict(),
            "reference_onnx_sha256": self.reference_sha256,
            "crops_path": str(self.crops.path),
            "crops_sha256": self.crops.data_sha256,
        }


def _reference(onnx_path: Path, onnx_sha: str, info: dict[str, Any] | None,
               reference_onnx: str | Path | None) -> tuple[Path, str] | None:  # fmt: skip
    """(FP32 model, its sha256), or None where a Q/DQ model's source cannot be found."""
    if info is None:  # an FP32 model is its own reference
        if reference_onnx is not None:
            return Path(reference_onnx), sha256_file(reference_onnx)
        return onnx_path, onnx_sha
    want = info.get("source_sha256")
    named = info.get("source_name")
    candidates = [Path(reference_onnx)] if reference_onnx is not None else []
    if named:
        candidates.append(onnx_path.with_name(str(named)))
    for path in candidates:
        if path.is_file():
            sha = sha256_file(path)
            if want and sha != want:
                if reference_onnx is not None and path == Path(reference_onnx):
                    raise InvalidInputError(
                        f"{path} is not the FP32 model {onnx_path.name} was quantized from "
                        f"(its sha256 is {sha[:12]}..., the Q/DQ model records {want[:12]}...)"
                    )
                continue
            return path, sha
    return None


def _overlap(a: Any, b: Any) -> bool:
    """Do two crop sources share crops (same data, or a common crop file)?"""
    if a.data_sha256 == b.data_sha256:
        return True
    paths_a, paths_b = getattr(a, "crop_paths", None), getattr(b, "crop_paths", None)
    if not paths_a or not paths_b:
        return False
    return bool({sha256_file(p) for p in paths_a} & {sha256_file(p) for p in paths_b})


def _check_crop_size(crops: Any, metadata: ModelMetadata, what: str) -> None:
    """Refuse gate crops that are not the model's input size before anything is built: the
    gate would otherwise fail at its first crop, after minutes of building (and a rebuild
    at every start, with nothing recorded). A crop source that does not say its size
    (``size_px``) is not checked here."""
    crop = getattr(crops, "size_px", None)
    size = metadata.input_size_hw[0]
    if crop is None or int(crop) == size:
        return
    raise InvalidInputError(
        f"{what} of {crops.path} are {crop} px, the model takes {size} px: the accuracy gate "
        f"compares the engine with FP32 on crops of the model's input size; make them with "
        f"`wds-edge calibrate --size {size}` (or use --held-out synthetic)"
    )


def plan_gate(
    onnx_path: Path,
    props: dict[str, str],
    precision: str,
    metadata: ModelMetadata,
    *,
    calibration: Int8Calibration | None,
    gate_crops: CropSource | str | None,
    reference_onnx: str | Path | None,
    allow_accuracy_loss: bool,
    onnx_sha256: str,
) -> GatePlan | None:
    """What to gate a new ``precision`` engine of ``onnx_path`` against (None: no gate).

    Raises:
        BackendUnavailableError: a gate is needed but there is no reference or no crops for
            it, and accuracy loss is not allowed (the message says what to pass).
        InvalidInputError: the held-out crops overlap the calibration crops, show a person
            of them (``calibration.check_held_out(crops)``, where the calibration has one:
            ``wds_edge_calibration``'s does), or are not the model's input size (checked
            before the build); an unknown ``gate_crops`` name; a ``reference_onnx`` that is
            not the Q/DQ model's source.
    """
    if precision == "fp32":
        return None
    info = qdq_info(props)
    if isinstance(gate_crops, str):
        if gate_crops != "synthetic":
            raise InvalidInputError(
                f"gate crops must be a crop folder or 'synthetic', got {gate_crops!r}"
            )
        gate_crops = SyntheticCrops(metadata.input_size_hw[0])
    crops: Any = gate_crops
    what = "the --held-out crops (gate_crops)"
    if crops is None and precision == "fp16" and calibration is not None:
        crops = calibration.crops  # FP16 is not made from them: any kiosk crops will do
        what = "the --calib crops the FP16 engine is gated on"
    if crops is not None:
        _check_crop_size(crops, metadata, what)
    problem = ""
    if crops is None:
        problem = (
            f"a new {precision.upper()} engine is checked against FP32 on held-out kiosk crops "
            "before use: pass --held-out DIR (crops from `wds-edge calibrate` that were not "
            "used for calibration) or --held-out synthetic"
        )
    elif precision == "int8":
        made_from = [c for c in (getattr(calibration, "crops", None),) if c is not None]
        recorded = ((info or {}).get("calibration") or {}).get("data_sha256")
        if any(_overlap(crops, c) for c in made_from) or crops.data_sha256 == recorded:
            raise InvalidInputError(
                "the INT8 gate's held-out crops are (or share crops with) the calibration "
                "crops; make the held-out set from other photos or another video with "
                "`wds-edge calibrate` and pass it with --held-out"
            )
        check = getattr(calibration, "check_held_out", None)
        if check is not None:  # the people split, as `wds-edge quantize` checks it
            check(crops)
    reference = _reference(onnx_path, onnx_sha256, info, reference_onnx)
    if reference is None and not problem:
        source = info or {}
        problem = (
            f"{onnx_path.name} is a Q/DQ model and the FP32 model it was made from "
            f"({source.get('source_name')}, sha256 {str(source.get('source_sha256'))[:12]}...) "
            "is not next to it: pass it with --fp32-onnx (reference_onnx) so the engine is "
            "gated against FP32, not against the same INT8 model"
        )
    if problem or reference is None:
        if allow_accuracy_loss:
            logger.warning("%s; building without the accuracy gate (accuracy loss allowed)",
                           problem)  # fmt: skip
            return None
        raise BackendUnavailableError(problem)
    return GatePlan(reference[0], reference[1], crops)


def run_gate(
    plan: GatePlan, engine: Any, metadata: ModelMetadata, precision: str, max_images: int
) -> tuple[GateResult, str]:
    """Compare ``engine`` (a loaded backend) with the plan's FP32 reference on its crops.

    Returns:
        The gate's result, and why it proves nothing ("" when it counts): its verdict is
        "not gated" (the FP32 model marks almost no pixel, or almost every pixel, of the
        crops as wrinkles: the masks agree trivially).
    """
    from wds_edge.runtime.onnxruntime import OnnxRuntimeBackend

    with OnnxRuntimeBackend(plan.reference_onnx, providers=["CPUExecutionProvider"]) as ref:
        rows = ref.fixed_batch or 1  # a model exported with a fixed batch N takes N images
        gate = accuracy_gate(
            ref.infer, engine.infer,
            (np.repeat(x, rows, axis=0)
             for x in plan.crops.batches(metadata.preprocessing, 1, limit=max_images)),
            precision=precision, threshold=metadata.threshold,
        )  # fmt: skip
    if gate.not_gated:
        synthetic = getattr(plan.crops, "synthetic", False)
        fix = (
            "pass --held-out DIR (kiosk crops)"
            if synthetic
            else "train the model longer, or gate on other crops (--held-out DIR)"
        )
        where = "the synthetic crops" if synthetic else f"the crops of {plan.crops.path}"
        return gate, (
            f"not gated on {where}: {gate.not_gated}; {precision.upper()} cannot be checked "
            f"on them: {fix}"
        )
    return gate, ""


def _refusal_path(engine_path: Path) -> Path:
    return engine_path.with_name(engine_path.stem + ".refused.json")


def read_refusal(
    engine_path: Path, identity: dict[str, Any]
) -> AccuracyGateError | BackendUnavailableError | None:
    """The error to raise for an engine with this key, reference and crops that was refused at
    its last build (None: it was not): an :class:`AccuracyGateError` when its gate failed (as
    at the build itself), else a :class:`BackendUnavailableError`. A kiosk that starts with
    ``auto`` then does not rebuild, at every start, the FP16 engine that failed its gate
    (minutes on a Jetson) before taking FP32."""
    path = _refusal_path(engine_path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("identity") != json.loads(json.dumps(identity)):
        return None
    why = f"{doc.get('reason')} (at its last build; recorded in {path}; --rebuild tries again)"
    return AccuracyGateError(why) if doc.get("gate_failed") else BackendUnavailableError(why)


def write_refusal(
    engine_path: Path, identity: dict[str, Any], reason: str, *, gate_failed: bool = False
) -> None:
    """Record that a new engine with this identity was refused, and why (``gate_failed``: its
    accuracy gate failed, rather than it could not be checked)."""
    from wds_edge.io import write_json_atomic

    doc = {"identity": identity, "reason": reason, "gate_failed": gate_failed}
    try:
        write_json_atomic(_refusal_path(engine_path), doc)
    except (OSError, InvalidInputError) as exc:
        logger.warning("could not record the refused engine (%s)", exc)


def forget_refusal(engine_path: Path) -> None:
    _refusal_path(engine_path).unlink(missing_ok=True)
