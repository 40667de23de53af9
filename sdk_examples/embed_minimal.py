"""Embed wds-edge in a dozen lines: analyse one photo, print its wrinkle scores.

Usage: python sdk_examples/embed_minimal.py FACE.jpg [MODEL.onnx]
(the face landmarker is found through $WDS_EDGE_FACE_LANDMARKER or `wds-edge models fetch`)
A photo, model or landmarker that cannot be used: one `error:` line, exit code 1.
"""

import sys

from wds_edge import WdsEdgeError, WrinkleAnalyzer, read_image

if not 2 <= len(sys.argv) <= 3:
    sys.exit(__doc__.strip().splitlines()[2])  # the usage line, exit code 1
try:  # no MODEL.onnx: the model bundled with wds-edge
    with WrinkleAnalyzer(model_path=sys.argv[2] if len(sys.argv) > 2 else None) as analyzer:
        result = analyzer.analyze(read_image(sys.argv[1]))
except WdsEdgeError as exc:  # every error wds-edge raises says what to fix, in one line
    sys.exit(f"error: {exc}")  # on stderr, exit code 1
print(f"status: {result.status.value} ({result.prompt})")  # no face, too blurry, ...: a status
for region, score in result.scores.items():  # empty when the frame was not segmented
    print(f"{region:17s} {100 * score.wrinkle_ratio:5.1f} %  {score.wrinkle_count} wrinkles")
