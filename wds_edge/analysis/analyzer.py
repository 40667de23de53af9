"""The kiosk pipeline: frame -> landmarks -> quality gates -> crop -> segmentation -> scores.

:class:`WrinkleAnalyzer` owns one MediaPipe FaceLandmarker and one inference backend.
It runs in two steps so a live preview can afford the first on every frame:

* :meth:`WrinkleAnalyzer.locate` (cheap): landmarks, quality gates, the paper's Table 1
  crop transform;
* :meth:`WrinkleAnalyzer.segment` (the model): crop + preprocessing as the model's
  metadata prescribes, inference, threshold, per-region scores (Eq. 12).

:meth:`WrinkleAnalyzer.analyze` does both when the frame passes the gates. Every
result carries per-stage timings in milliseconds.

Threads: :meth:`~WrinkleAnalyzer.locate` and :meth:`~WrinkleAnalyzer.segment` may run at
the same time on two threads (the two-stage pipeline, :mod:`wds_edge.analysis.pipeline`,
does): the analyzer serialises the calls into its one landmarker and into its one backend
with a lock each, and everything else they do is per call. :meth:`~WrinkleAnalyzer.close`
waits for a call in progress.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import numbers
import os
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from wds_edge.analysis.config import AnalyzerConfig
from wds_edge.analysis.frames import COLOUR_ORDERS, as_frame_bgr
from wds_edge.analysis.result import FrameResult, RegionScore
from wds_edge.analysis.scoring import mm_per_px_from_iris, score_regions, score_skin_regions
from wds_edge.errors import InvalidInputError
from wds_edge.io import read_image, sha256_file
from wds_edge.model.info import ModelInfo
from wds_edge.model.metadata import ModelMetadata
from wds_edge.model.preprocessing import model_input
from wds_edge.perception.expression import NOT_NEUTRAL, expression_scores, expressive_parts
from wds_edge.perception.face_crop import FaceCrop, crop_face
from wds_edge.perception.landmarks import Face, FaceLandmarker, FaceLandmarkerOptions
from wds_edge.perception.locate import detect_faces, gate_faces
from wds_edge.perception.quality import FrameStatus
from wds_edge.perception.skin_regions import SkinRegions, skin_regions
from wds_edge.runtime import BACKEND_NAMES, Backend, load_backend
from wds_edge.timing import ms_since

# AnalyzerConfig and COLOUR_ORDERS live in config.py / frames.py; re-exported here, where
# users have always imported them from.
__all__ = ["AnalyzerConfig", "WrinkleAnalyzer", "COLOUR_ORDERS"]

logger = logging.getLogger(__name__)


class WrinkleAnalyzer:
    """Analyse face photos / camera frames for wrinkles (see the module docstring).

    Frames must be upright: the face's eyes above its mouth. A camera mounted on its side or
    upside down must have its frames rotated before they reach the analyzer
    (``open_source(uri, rotate=180)``, the CLI's ``--rotate``, or
    ``cv2.rotate(frame, cv2.ROTATE_180)``); a photo's EXIF orientation is applied by
    :func:`wds_edge.io.read_image`, but a frame from a camera or a photo stripped of its EXIF
    is taken as it is. MediaPipe often fits an upright mesh to an upside-down face with
    plausible head angles, so such a frame can pass every gate with status ``ok`` and a wrong
    score: nothing refuses it.

    Args:
        config: an :class:`AnalyzerConfig`; ``None`` uses the defaults.
        **overrides: fields of :class:`AnalyzerConfig` to change, e.g.
            ``WrinkleAnalyzer(model_path="m.onnx", backend="onnxruntime")``.

    Raises:
        InvalidInputError: an unknown setting or backend name.
        ModelError: no usable segmentation model / landmarker model (the message says how
            to get one).

    Example:
        >>> with WrinkleAnalyzer(model_path="model.onnx") as analyzer:
        ...     result = analyzer.analyze(cv2.imread("face.jpg"))
        ...     print(result.status, result.scores["overall"].wrinkle_ratio)
    """

    def __init__(self, config: AnalyzerConfig | None = None, **overrides: Any) -> None:
        self._backend: Backend | None = None
        self._landmarker: FaceLandmarker | None = None
        # One call at a time into each native resource; the two may overlap (see above).
        self._landmarker_lock = threading.Lock()
        self._backend_lock = threading.Lock()
        base = dict(config) if config is not None else {}
        self.config = AnalyzerConfig(**{**base, **overrides})  # InvalidInputError if bad
        cfg = self.config
        if cfg.backend not in BACKEND_NAMES:
            raise InvalidInputError(
                f"unknown backend {cfg.backend!r}; choose one of {', '.join(BACKEND_NAMES)}"
            )
        if cfg.model_path is None:
            from wds_edge.model.bundled import default_model_path

            self.model_path = default_model_path()
        else:
            self.model_path = Path(cfg.model_path)
        self._backend = load_backend(
            self.model_path,
            cfg.backend,
            precision=cfg.precision,
            num_threads=cfg.num_threads,
            device=cfg.device,
            spin_wait=cfg.spin_wait,
            # only when set: ONNX Runtime has no gate and refuses the option
            **({"allow_accuracy_loss": True} if cfg.allow_accuracy_loss else {}),
        )
        try:  # whatever fails from here on, the backend and landmarker opened are released
            self._landmarker = FaceLandmarker(
                FaceLandmarkerOptions(
                    model_path=cfg.landmarker_path,
                    mode="video" if cfg.video_mode else "image",
                    max_faces=2,  # two, so the several-faces gate can see a second face
                )
            )
            meta = self._backend.metadata
            self.threshold = float(cfg.threshold if cfg.threshold is not None else meta.threshold)
            self.input_size_px = int(meta.input_size_hw[0])
            self._model_info = ModelInfo(
                name=meta.model_name,
                version=meta.model_version,
                backend=self._backend.name,
                precision=self._backend.precision,
                device=self._backend.device,
                threshold=self.threshold,
                input_size_px=self.input_size_px,
                path=str(self.model_path),
                **_model_fingerprint(self.model_path, self._backend),
            )
            if cfg.warmup:
                self._warm_up()
        except BaseException:
            self.close()
            raise

    def _warm_up(self) -> None:
        """One inference on a blank crop and one scoring pass (see ``AnalyzerConfig.warmup``)."""
        size = self.input_size_px
        blank = np.zeros((size, size, 3), np.uint8)
        self.backend.infer(model_input(blank, self.metadata.preprocessing))
        line = np.zeros((size, size), bool)
        line[size // 2, size // 4 : size // 2] = True  # a non-empty mask takes the skeleton path
        score_regions(line, {"warmup": line}, None)

    # -- properties -------------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The loaded inference backend."""
        if self._backend is None:
            raise InvalidInputError("this WrinkleAnalyzer is closed; create a new one")
        return self._backend

    @property
    def metadata(self) -> ModelMetadata:
        """The segmentation model's contract (input size, preprocessing, threshold, ...)."""
        return self.backend.metadata

    @property
    def landmarker(self) -> FaceLandmarker:
        if self._landmarker is None:
            raise InvalidInputError("this WrinkleAnalyzer is closed; create a new one")
        return self._landmarker

    @property
    def model_info(self) -> dict[str, Any]:
        """Name, version, backend, device, threshold and input size of the model (JSON dict;
        :attr:`model_description` is the same as a :class:`~wds_edge.model.info.ModelInfo`)."""
        return self._model_info.to_dict()

    @property
    def model_description(self) -> ModelInfo:
        """The model in use as a :class:`~wds_edge.model.info.ModelInfo`."""
        return self._model_info

    # -- the pipeline -----------------------------------------------------------------------

    def _detect(self, frame_bgr: np.ndarray, timestamp_ms: int | None) -> list[Face]:
        def detect(rgb: np.ndarray) -> list[Face]:
            with self._landmarker_lock:
                return self.landmarker.detect(rgb, timestamp_ms)

        return detect_faces(detect, frame_bgr, self.config.max_landmark_side_px)

    def locate(
        self, image_bgr: np.ndarray, timestamp_ms: int | None = None, *, colour_order: str = "bgr"
    ) -> FrameResult:
        """Find the face, apply the quality gates and build the crop transform (no model):
        perception's locate step (:mod:`wds_edge.perception.locate`) with these settings.

        A grey face (one channel, or three equal channels, measured in the face box and,
        once the gates pass, on its skin) gets the status ``needs_colour_camera`` unless the
        model's metadata has ``grey_input_supported``; skin whose colour no real light gives
        (far-off white balance, or flat chroma: a tinted grey or washed-out colour picture)
        gets ``colour_cast`` (``QualityConfig.check_white_balance``); ``result.colour`` says
        ``"grey"`` or ``"colour"`` either way (measured on the whole frame when there is no
        face; the status stays ``no_face`` then, as an empty grey scene says nothing about the
        camera).

        Args:
            image_bgr: uint8 H x W x 3 frame, upright (see :class:`WrinkleAnalyzer`); grey,
                4-channel and 16-bit are converted (16-bit must use the full 0-65535 range:
                10- / 12-bit data in a uint16 array is refused, multiply 12-bit data by 16).
            timestamp_ms: the frame's time (video mode: must increase; ``None``: now). A numpy
                number is kept as Python's ``int`` / ``float`` (the result turns into JSON).
            colour_order: ``"bgr"`` (OpenCV's order, the default) or ``"rgb"`` (Pillow's).
                An RGB array passed as ``"bgr"`` cannot be detected in general (the
                wrinkle scores would silently shift): say which order you pass.

        Returns:
            A :class:`FrameResult` with ``segmented=False``: status, prompt, face box,
            landmarks, crop transform, quality measures, timings ``landmarks``, ``quality``,
            ``total``.
        """
        start = time.perf_counter()
        timestamp_ms = _plain_number(timestamp_ms)
        frame = as_frame_bgr(image_bgr, colour_order)
        faces = self._detect(frame, timestamp_ms)
        timings = {"landmarks": ms_since(start)}
        t = time.perf_counter()
        # perception's locate step (the one calibration and labeling run): the quality gates
        # on the frame's one crop (issue 21), then the colour gates; segment() feeds the crop
        # to the model.
        located = gate_faces(
            frame,
            faces,
            self.config.quality,
            crop_size_px=self.input_size_px,
            grey_input_supported=self.metadata.grey_input_supported,
        )
        status, face, measures, crop = located.status, located.face, located.measured, located.crop
        colour = located.colour
        expression = expression_scores(face.blendshapes) if face is not None else None
        mm_per_px = None
        if crop is not None and face is not None:
            mm_per_px = mm_per_px_from_iris(face.iris_diameter_px * crop.transform.scale)
        timings["quality"] = ms_since(t)
        timings["total"] = ms_since(start)
        return FrameResult(
            status=status,
            prompt=status.prompt,
            frame_shape=(int(frame.shape[0]), int(frame.shape[1])),
            face_box_px=tuple(float(v) for v in face.bbox_px) if face is not None else None,  # type: ignore[arg-type]
            landmarks_px=face.landmarks_px if face is not None else None,
            crop_transform=crop.transform if crop is not None else None,
            quality={k: float(v) for k, v in measures.items()},
            timings_ms=timings,
            mm_per_px=mm_per_px,
            model=self.model_info,
            segmented=False,
            timestamp_ms=timestamp_ms,
            colour=colour,
            expression=expression,
            warnings=[NOT_NEUTRAL] if expressive_parts(expression) else [],
            face_crop=crop,
        )

    def segment(
        self,
        image_bgr: np.ndarray | None,
        located: FrameResult,
        *,
        colour_order: str = "bgr",
        score: bool = True,
    ) -> FrameResult:
        """Segment the face that :meth:`locate` found in the same frame and score it.

        Args:
            image_bgr: the frame given to :meth:`locate`; ``None`` segments the crop that
                ``located`` holds (``face_crop``, kept by :meth:`locate`) without the frame.
            located: its result (must hold a face: ``landmarks_px`` not ``None``; with
                ``image_bgr=None`` also the ``face_crop`` that :meth:`locate` keeps).
            colour_order: ``"bgr"`` or ``"rgb"``, as given to :meth:`locate`.
            score: ``False`` leaves ``scores`` empty but still thresholds the map and
                builds the counted regions: for a caller that scores a fused map in this
                crop instead (the live screen's :class:`~wds_edge.analysis.running.RunningScore`),
                which saves the frame's own scoring pass.

        Returns:
            A new :class:`FrameResult` with ``segmented=True``, the crop-space wrinkle
            probability (float32 S x S) and mask (bool S x S), ``scores`` (each region's
            skin, and ``"overall"``: their union, see :meth:`score_probability`) and timings
            ``crop_preprocess``, ``inference``, ``postprocess`` added to ``total``.

        Raises:
            InvalidInputError: no face was located, or the frame is not the located one.
        """
        if located.landmarks_px is None:
            raise InvalidInputError(
                "cannot segment a frame without a located face (status "
                f"'{located.status.value}'); call segment() only when locate() returned a "
                "face, or use analyze()"
            )
        start = time.perf_counter()
        crop = located.face_crop
        if image_bgr is None and crop is None:
            raise InvalidInputError(
                "segment(None, located) needs the crop that locate() keeps (face_crop); "
                "pass the frame for a result rebuilt from JSON"
            )
        frame = as_frame_bgr(image_bgr, colour_order) if image_bgr is not None else None
        if frame is not None and tuple(frame.shape[:2]) != tuple(located.frame_shape):
            raise InvalidInputError(
                f"segment() got a {frame.shape[1]}x{frame.shape[0]} frame but the located one was "
                f"{located.frame_shape[1]}x{located.frame_shape[0]}; pass the same frame"
            )
        if crop is None:  # a result rebuilt from JSON, or made by hand: crop once here
            crop = crop_face(frame, located.landmarks_px, self.input_size_px)
        batch = model_input(crop.crop_rgb, self.metadata.preprocessing)
        timings = dict(located.timings_ms)
        timings["crop_preprocess"] = ms_since(start)
        t = time.perf_counter()
        with self._backend_lock:
            out = self.backend.infer(batch)
        prob = np.ascontiguousarray(out[0, 0], dtype=np.float32)
        timings["inference"] = ms_since(t)
        t = time.perf_counter()
        if score:
            mask, scores, counted = self.score_probability(prob, crop, located.mm_per_px)
        else:
            mask, scores = prob > self.threshold, {}
            counted = _counted_regions(crop, located.mm_per_px)
        timings["postprocess"] = ms_since(t)
        timings["total"] = located.timings_ms.get("total", 0.0) + ms_since(start)
        return dataclasses.replace(
            located,
            wrinkle_prob=prob,
            wrinkle_mask=mask,
            scores=scores,
            timings_ms=timings,
            segmented=True,
            crop_transform=crop.transform,
            face_crop=crop,
            counted_regions=counted,
        )

    def score_probability(
        self,
        prob: np.ndarray,
        crop: FaceCrop,
        mm_per_px: float | None,
        regions: SkinRegions | None = None,
    ) -> tuple[np.ndarray, dict[str, RegionScore], SkinRegions]:
        """Threshold a crop-space probability map and score it on the counted skin regions.

        Args:
            prob: float32 ``S x S`` wrinkle probability in ``crop``'s space (one frame's, or
                a fused map registered onto ``crop``).
            crop: the :class:`FaceCrop` whose landmarks place the regions.
            mm_per_px: crop-space millimetres per pixel, or ``None``.
            regions: the counted regions of this same ``crop`` and ``mm_per_px`` when the
                caller has them (a segmented frame's ``counted_regions``: they depend only
                on the crop, so a fused map scored on its reference frame reuses them, the
                same values for a third of the postprocessing); ``None`` computes them.

        Returns:
            ``(mask, scores, regions)``: bool ``S x S`` (probability > threshold),
            ``{"overall", <region>...}`` (:func:`score_skin_regions`) and the counted
            :class:`SkinRegions`.
        """
        mask = prob > self.threshold
        if regions is None:
            regions = _counted_regions(crop, mm_per_px)
        return mask, score_skin_regions(mask, regions, mm_per_px), regions

    def analyze(
        self, image_bgr: np.ndarray, timestamp_ms: int | None = None, *, colour_order: str = "bgr"
    ) -> FrameResult:
        """:meth:`locate`, then :meth:`segment` when the frame passes the quality gates.

        Args:
            image_bgr: uint8 H x W x 3 frame in ``colour_order`` (see :meth:`locate`).
            timestamp_ms: the frame's time (video mode: must increase; ``None``: now).
            colour_order: ``"bgr"`` (OpenCV, the default) or ``"rgb"`` (Pillow, imageio).

        Returns:
            A :class:`FrameResult`; ``segmented`` tells whether the model ran. Frame
            conditions ("no face", "too blurry", ...) are statuses, not exceptions.
        """
        frame = as_frame_bgr(image_bgr, colour_order)
        located = self.locate(frame, timestamp_ms)
        if located.status is not FrameStatus.OK:
            return located
        return self.segment(frame, located)

    def analyze_file(self, path: str | os.PathLike[str]) -> FrameResult:
        """Read an image file (:func:`wds_edge.io.read_image`) and :meth:`analyze` it.

        The ``decode`` stage is added to the timings (and to ``total``).

        Raises:
            InvalidInputError: missing, empty, truncated or corrupt file.
        """
        start = time.perf_counter()
        image = read_image(path)
        decode_ms = ms_since(start)
        result = self.analyze(image)
        result.timings_ms = {"decode": decode_ms, **result.timings_ms}
        result.timings_ms["total"] = result.timings_ms.get("total", 0.0) + decode_ms
        return result

    # -- resources --------------------------------------------------------------------------

    def close(self) -> None:
        """Release the landmarker and the backend (idempotent; waits for a call in progress
        on another thread)."""
        with self._landmarker_lock:
            if self._landmarker is not None:
                self._landmarker.close()
                self._landmarker = None
        with self._backend_lock:
            if self._backend is not None:
                self._backend.close()
                self._backend = None

    def __enter__(self) -> WrinkleAnalyzer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        backend = self._model_info.backend
        return f"WrinkleAnalyzer(model={str(self.model_path)!r}, backend={backend!r})"


def _counted_regions(crop: FaceCrop, mm_per_px: float | None) -> SkinRegions:
    """The counted skin regions of a kiosk crop (they depend on the crop alone)."""
    return skin_regions(crop.crop_rgb, crop.landmarks_crop_px, crop.in_frame, mm_per_px=mm_per_px)


def _model_fingerprint(path: Path, backend: Backend) -> dict[str, str | None]:
    """The model's identity (what ``wds-edge compare`` checks): ``sha256`` of the model file
    and, for an INT8 model that records it, the ``source_sha256`` of the FP32 ``.onnx`` it
    was quantized from.

    * A Q/DQ ``.onnx`` (``wds-edge quantize --format qdq``): its ``quantization`` metadata.
    * An OpenVINO IR ``.xml`` (``wds-edge quantize --format openvino``): the ``wds_edge``
      rt_info the backend read; ``sha256`` covers the ``.xml`` and its ``.bin`` (the
      weights: the ``.xml`` alone is the same for every model of one architecture) -
      :func:`_ir_sha256`.
    * An FP32 ``.onnx`` run as INT8 by OpenVINO (its ``.int8.xml`` beside it) is the FP32
      file, which is also that IR's source.

    One read of files of a few MB, once per analyzer.
    """
    ir = path.suffix.lower() == ".xml"
    value = None
    if backend.precision == "int8":
        if ir:  # OpenVinoBackend.ir_info: rt_info wds_edge/*
            value = (getattr(backend, "ir_info", None) or {}).get("source_sha256")
        elif path.suffix.lower() == ".onnx":
            from wds_edge.runtime.quantized import qdq_info, read_onnx_file_info

            value = (qdq_info(read_onnx_file_info(path).metadata_props) or {}).get("source_sha256")
    source = value if isinstance(value, str) and len(value) == 64 else None
    return {"sha256": _ir_sha256(path) if ir else sha256_file(path), "source_sha256": source}


def _ir_sha256(xml: Path) -> str:
    """sha256 of an OpenVINO IR: of the text ``"<sha256 of .xml> <sha256 of .bin>"`` (the
    ``.xml``'s alone when it has no ``.bin``)."""
    weights = xml.with_suffix(".bin")
    if not weights.is_file():
        return sha256_file(xml)
    both = f"{sha256_file(xml)} {sha256_file(weights)}"
    return hashlib.sha256(both.encode("ascii")).hexdigest()


def _plain_number(value: Any) -> Any:
    """A number as Python's ``int`` / ``float`` (a numpy ``int64`` timestamp taken from an
    array would stay in the result and fail ``json.dumps``); anything else as given (the
    landmarker refuses what is not a finite number)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)
