"""Training data that teaches a new model to reproduce a deployed one (knowledge distillation).

Issue 25: the bundled model's 16-channel full-resolution layers keep it at 36-47 ms per
OpenVINO BF16 call on an AMX CPU; a ``--stem space_to_depth`` U-Net runs in ~15 ms but a
model retrained on weak labels is a different model, which the starter-model rule judges by
ages (docs/starter_model_selection_rule.md). A student trained on the *deployed model's own
masks* claims something else: the same masks, faster. This script writes those labels.

Every photo (and every ``--every``-th frame of ``--video``) goes through the kiosk path of
:class:`~wds_edge.analysis.analyzer.WrinkleAnalyzer` with the teacher model (ONNX Runtime
FP32: landmarks -> kiosk crop -> model); a face that gets a crop is kept whatever its quality
status (the student must copy the teacher on small or dim faces too). Written, in the
generic layout ``wds-edge train --data`` reads:

* ``images/NAME.png``: the RGB kiosk crop the teacher saw;
* ``masks/NAME.png``: the teacher's mask (probability > its threshold) as 0 / 255;
* ``probs/NAME.png``: the teacher's probability as 16-bit PNG (p x 65535), for soft targets;
* ``teacher.json``: the teacher's name, version and sha256, the threshold, every source kept
  and every one skipped with its status. Written last: a folder without it is incomplete (a
  run that stopped); every file is written atomically.

With ``--views N`` each crop gives ``NAME__v00`` (as it is) to ``NAME__vNN``: seeded augmented
copies (``train/augment.py``, ``--view-augment``), each labelled by the teacher as it sees it.

  .venv/bin/python scripts/make_distill_data.py --out runs/distill/data \\
      --images ../shared/data/faces/astronaut.png ... --video ../shared/data/video/x.mp4 \\
      --every 3 --stop 180 --landmarker ../shared/models/face_landmarker.task
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from wds_edge.analysis.analyzer import WrinkleAnalyzer
from wds_edge.analysis.config import AnalyzerConfig
from wds_edge.capture.sources import IMAGE_SUFFIXES, open_source
from wds_edge.errors import InvalidInputError, WdsEdgeError
from wds_edge.io import (
    ensure_writable_dir,
    read_image,
    sha256_file,
    write_image_atomic,
    write_json_atomic,
)
from wds_edge.model.bundled import default_model_path
from wds_edge.model.preprocessing import model_input
from wds_edge_train.augment import AUGMENT_PROFILES, AugmentConfig, augment_sample

SUBFOLDERS = ("images", "masks", "probs")


def _fresh(out: Path) -> bool:
    """``out`` holds nothing but (maybe) empty :data:`SUBFOLDERS`: what a run that stopped
    before its first crop leaves, so a corrected rerun may use it."""
    for entry in out.iterdir():
        if entry.name not in SUBFOLDERS or not entry.is_dir() or any(entry.iterdir()):
            return False
    return True


def _write_view(out: Path, view: str, image_rgb: np.ndarray, prob: np.ndarray, threshold: float):
    write_image_atomic(out / "images" / f"{view}.png", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    write_image_atomic(out / "masks" / f"{view}.png", ((prob > threshold) * 255).astype(np.uint8))
    prob16 = np.clip(prob * 65535.0 + 0.5, 0, 65535).astype(np.uint16)
    write_image_atomic(out / "probs" / f"{view}.png", prob16)


def _sources(images: list[str], video: str | None, every: int, stop: int):
    """(name, BGR frame) of every photo file / folder entry, then the video's frames."""
    for item in images:
        p = Path(item)
        files = [p]
        if p.is_dir():
            files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        for f in files:
            yield f.stem, read_image(f)
    if video is None:
        return
    with open_source(video) as frames:  # decoding errors surface as CaptureError
        for frame in frames:
            if frame.index >= stop:
                break
            if frame.index % every == 0:
                yield f"{Path(video).stem}_{frame.index:05d}", frame.image_bgr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--teacher", type=Path, default=None, help="wds-edge ONNX (default: bundled)")
    ap.add_argument("--images", nargs="*", default=[], help="photo files or folders")
    ap.add_argument("--video", default=None)
    ap.add_argument("--every", type=int, default=3, help="every N-th video frame")
    ap.add_argument("--stop", type=int, default=10**9, help="video frames read at most")
    ap.add_argument("--landmarker", default=None)
    ap.add_argument("--views", type=int, default=1, help="views per crop: 0 as is, then augmented")
    ap.add_argument("--view-augment", default="paper", choices=AUGMENT_PROFILES[1:])
    ap.add_argument("--seed", type=int, default=7, help="seed of the augmented views")
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error(f"--every must be >= 1, got {args.every}")
    if args.views < 1:
        ap.error(f"--views must be >= 1, got {args.views}")
    view_cfg = AugmentConfig(profile=args.view_augment)
    teacher = args.teacher or Path(default_model_path())
    if args.out.is_dir() and not _fresh(args.out):
        ap.error(f"{args.out} is not empty; pass a new folder")
    ensure_writable_dir(args.out, what="distillation data")  # a bad folder fails at once
    config = AnalyzerConfig(
        model_path=str(teacher),
        backend="onnxruntime",
        precision="fp32",
        landmarker_path=args.landmarker,
        warmup=False,
    )
    kept, skipped = [], []
    with WrinkleAnalyzer(config) as analyzer:  # teacher and landmarker open: now the folders
        for sub in SUBFOLDERS:
            (args.out / sub).mkdir(exist_ok=True)
        threshold = float(analyzer.threshold)
        sources = _sources(args.images, args.video, args.every, args.stop)
        for source_index, (name, frame) in enumerate(sources):
            if any(k["name"].split("__v")[0] == name for k in kept):
                raise InvalidInputError(
                    f"two sources are both named {name!r} (same file name in two folders?); "
                    "rename one, the labels are written by name"
                )
            located = analyzer.locate(frame)
            if located.crop_transform is None:
                skipped.append({"name": name, "status": str(located.status)})
                print(f"  skip {name}: {located.status}", file=sys.stderr)
                continue
            result = analyzer.segment(None, located, score=False)
            crop_rgb = result.face_crop.crop_rgb
            for k in range(args.views):
                view = name if args.views == 1 else f"{name}__v{k:02d}"
                if k == 0:
                    image, prob = crop_rgb, result.wrinkle_prob
                else:  # a seeded augmented view, labelled by the teacher as it sees it
                    rng = np.random.default_rng([args.seed, source_index, k])
                    blank = np.zeros(crop_rgb.shape[:2], bool)
                    image, _, _ = augment_sample(crop_rgb, blank, None, rng, view_cfg)
                    batch = model_input(image, analyzer.metadata.preprocessing)
                    prob = np.asarray(analyzer.backend.infer(batch)[0, 0], np.float32)
                _write_view(args.out, view, image, prob, threshold)
                share = float((prob > threshold).mean())
                kept.append({"name": view, "status": str(located.status), "mask_share": share})
            print(f"  {name}: {located.status}, {args.views} view(s), mask {100 * share:.2f} %")
        info = analyzer.model_info
    summary = {
        "teacher": {"path": str(teacher), "sha256": sha256_file(teacher), "model": info},
        "threshold": threshold,
        "views": args.views,
        "view_augment": args.view_augment if args.views > 1 else None,
        "seed": args.seed,
        "kept": kept,
        "skipped": skipped,
    }
    write_json_atomic(args.out / "teacher.json", summary)
    print(f"{len(kept)} crops written to {args.out}, {len(skipped)} sources skipped")
    return 0 if kept else 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except WdsEdgeError as exc:  # a missing photo or model, a name used twice
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
