"""Analyse every photo in a folder; write one JSON + overlay per photo and a CSV summary.

Usage:
    python sdk_examples/batch_folder.py PHOTOS_DIR OUT_DIR [--model MODEL.onnx]

A photo that cannot be read is listed in the summary with its error; the others go on.
Exit code 1 if any photo failed; an output folder, model or landmarker that cannot be
used: one `error:` line, exit code 2 (OUT_DIR is made once the model loaded: a refused
model leaves no empty folder).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys

from wds_edge import REGION_NAMES, WdsEdgeError, WrinkleAnalyzer
from wds_edge.analysis import analyze_inputs, check_output_folder
from wds_edge.io import ensure_writable_dir, write_text_atomic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", metavar="PHOTOS_DIR", help="folder of face photos (or a glob)")
    parser.add_argument("out", metavar="OUT_DIR", help="output folder (not PHOTOS_DIR)")
    parser.add_argument("--model", default=None, help="wds-edge .onnx model (default: bundled)")
    parser.add_argument("--landmarker", default=None, help="face_landmarker.task")
    args = parser.parse_args(argv)

    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(
        [
            "file",
            "status",
            "overall_ratio",
            *(f"{r}_ratio" for r in REGION_NAMES),
            "total_ms",
            "error",
        ]
    )
    try:
        check_output_folder([args.photos], args.out, "OUT_DIR")  # not the photos' own folder
        analyzer = WrinkleAnalyzer(model_path=args.model, landmarker_path=args.landmarker)
    except WdsEdgeError as exc:  # an output folder, model or landmarker that cannot be used
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    with analyzer:
        # OUT_DIR once the model and landmarker loaded (a refused one leaves no empty folder
        # behind), and before the photos are analysed (a bad one is not found after them)
        try:
            ensure_writable_dir(args.out, "results")
        except WdsEdgeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for outcome in analyze_inputs(analyzer, [args.photos], args.out):
            if outcome.result is None:
                failed += 1
                writer.writerow(
                    [outcome.input, "error", *[""] * (len(REGION_NAMES) + 2), outcome.error]
                )
                continue
            r = outcome.result
            ratios = [
                f"{r.scores[name].wrinkle_ratio:.5f}" if name in r.scores else ""
                for name in ("overall", *REGION_NAMES)
            ]
            writer.writerow(
                [outcome.input, r.status.value, *ratios, f"{r.timings_ms['total']:.1f}", ""]
            )
            print(f"{outcome.input}: {r.status.value}")
    write_text_atomic(f"{args.out}/summary.csv", table.getvalue())
    print(f"summary: {args.out}/summary.csv ({failed} failed)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
