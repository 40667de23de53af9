"""TensorRT 10 implicit INT8 calibration: ``IInt8EntropyCalibrator2`` over a calibration set.

Route (1) of the issue. TensorRT runs the FP32 network on the calibration crops and
picks per-tensor INT8 scales that minimise the KL divergence of the activation
histograms. The scales are written to a cache guarded by
:func:`wds_edge_calibration.cache.calibration_cache_key` (data + model + TensorRT version), so a
rebuild with the same inputs skips the calibration passes and a change of any of them
recalibrates.

TensorRT 10 deprecates implicit quantization (TensorRT 11 removes it); the explicit
Q/DQ route (:mod:`wds_edge_calibration.qdq`) is what :mod:`wds_edge.runtime.tensorrt.build` takes
there.
:func:`tensorrt_calibration` hands both routes to the engine builder through
:class:`wds_edge.runtime.tensorrt.int8.Int8Calibration` (the SDK never imports this
package; the CLI wires it in). No torch; TensorRT and cuda-python are imported lazily.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from wds_edge._deps import require
from wds_edge.errors import InvalidInputError
from wds_edge.model.metadata import ModelMetadata
from wds_edge_calibration.cache import CalibrationCache, calibration_cache_key
from wds_edge_calibration.dataset import CalibrationSet, load_calibration_set

__all__ = ["TensorRTCalibration", "make_entropy_calibrator", "tensorrt_calibration"]

logger = logging.getLogger(__name__)


def make_entropy_calibrator(
    calib: str | Path | CalibrationSet,
    metadata: ModelMetadata,
    *,
    model_sha256: str,
    cache_path: str | Path,
    max_crops: int | None = None,
) -> Any:
    """An ``IInt8EntropyCalibrator2`` feeding the set's crops one by one (batch 1).

    Args:
        calib: calibration folder or loaded set (crops through ``model_input``).
        metadata: the model's contract (input name, preprocessing, size).
        model_sha256: sha256 of the ONNX being built (part of the cache key).
        cache_path: where the calibration cache lives (``.calib`` + ``.calib.key``).
        max_crops: use at most this many crops.

    Returns:
        The calibrator, to assign to ``IBuilderConfig.int8_calibrator``. The network's
        calibration profile must be the batch-1 input shape.

    Raises:
        InvalidInputError: the crops are not the model's input size (checked before any
            device memory is allocated or copied into).
    """
    trt = require("tensorrt", "INT8 calibration")
    from wds_edge.runtime.tensorrt.cuda import DeviceBuffer

    calib_set = calib if isinstance(calib, CalibrationSet) else load_calibration_set(calib)
    limit = None if max_crops is None or max_crops >= len(calib_set) else max_crops
    cache = CalibrationCache(
        cache_path,
        calibration_cache_key(calib_set.data_sha256, model_sha256, trt.__version__, limit),
    )
    nbytes = _check_crop_size(calib_set, metadata)

    class EntropyCalibrator(trt.IInt8EntropyCalibrator2):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            trt.IInt8EntropyCalibrator2.__init__(self)
            self._batches = calib_set.batches(metadata.preprocessing, 1, limit=max_crops)
            self._device = DeviceBuffer(nbytes)
            self.cache = cache
            self.batches_fed = 0

        def get_batch_size(self) -> int:
            return 1

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            host = np.ascontiguousarray(batch, dtype=np.float32)
            if host.nbytes != nbytes:  # a crop unlike the manifest's size: never overrun
                raise InvalidInputError(
                    f"calibration batch {self.batches_fed} of {calib_set.path} is "
                    f"{host.nbytes} bytes {tuple(host.shape)}, the model's input buffer "
                    f"{nbytes} bytes; rebuild the calibration set at the model's input size "
                    f"(`wds-edge calibrate --size {metadata.input_size_hw[0]}`)"
                )
            self._device.copy_from_host(host)
            self.batches_fed += 1
            return [self._device.ptr]

        def read_calibration_cache(self) -> bytes | None:
            data = cache.read()
            if data is not None:
                logger.info("reusing INT8 calibration cache %s", cache.path)
            return data

        def write_calibration_cache(self, data: Any) -> None:
            cache.write(bytes(data))

        def close(self) -> None:
            self._device.close()

    return EntropyCalibrator()


def _check_crop_size(calib_set: CalibrationSet, metadata: ModelMetadata) -> int:
    """Byte size of one batch-1 model input, after checking the crops have the model's size.

    The calibrator copies every batch into a device buffer of exactly this size, so crops
    of another size would overrun it (or leave it partly stale); the Q/DQ and OpenVINO
    routes refuse them the same way.

    Raises:
        InvalidInputError: the set's crops are not the model's input size.
    """
    itemsize = np.dtype(np.float32).itemsize
    height, width = metadata.input_size_hw
    nbytes = metadata.input_channels * height * width * itemsize
    crop = calib_set.size_px
    if (crop, crop) != (height, width):
        crop_nbytes = metadata.input_channels * crop * crop * itemsize
        raise InvalidInputError(
            f"the calibration crops of {calib_set.path} are {crop} px "
            f"({crop_nbytes} bytes per float32 input), the model takes {height} px "
            f"({nbytes} bytes); rebuild the calibration set at the model's input size: "
            f"`wds-edge calibrate --size {height}`"
        )
    return nbytes


@dataclass
class TensorRTCalibration:
    """A calibration set as the engine builder's ``Int8Calibration`` (both INT8 routes)."""

    crops: CalibrationSet
    max_crops: int | None = None

    def entropy_calibrator(
        self, metadata: ModelMetadata, *, model_sha256: str, cache_path: Path
    ) -> Any:
        """TensorRT 10: :func:`make_entropy_calibrator` over the crops."""
        return make_entropy_calibrator(
            self.crops, metadata, model_sha256=model_sha256, cache_path=cache_path,
            max_crops=self.max_crops,
        )  # fmt: skip

    def quantize_qdq(self, onnx_path: Path, out_path: Path) -> Path:
        """TensorRT 11: a Q/DQ copy of ``onnx_path``
        (:func:`wds_edge_calibration.qdq.quantize_qdq`)."""
        from wds_edge_calibration.qdq import quantize_qdq

        return quantize_qdq(onnx_path, self.crops, out_path, max_crops=self.max_crops)

    def check_held_out(self, crops: Any) -> None:
        """Refuse INT8 gate crops that are not held out from these calibration crops, as
        ``wds-edge quantize`` refuses them (:func:`wds_edge_calibration.qdq.check_held_out`:
        a shared crop, a shared named person, ...); the engine builder's gate calls it
        (:func:`wds_edge.runtime.tensorrt.gating.plan_gate`). Crops that are not a
        calibration folder (the synthetic ones) show nobody: nothing to check.

        Raises:
            InvalidInputError: ``crops`` share a crop or a named person with the calibration
                crops.
        """
        if isinstance(crops, CalibrationSet):
            from wds_edge_calibration.qdq import check_held_out

            check_held_out(self.crops, crops)


def tensorrt_calibration(
    calib: str | Path | CalibrationSet, *, max_crops: int | None = None
) -> TensorRTCalibration:
    """Load a calibration folder (``wds-edge calibrate``) for ``ensure_engine(calibration=...)``."""
    calib_set = calib if isinstance(calib, CalibrationSet) else load_calibration_set(calib)
    return TensorRTCalibration(calib_set, max_crops)
