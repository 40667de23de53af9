"""Embed wds-edge in ten lines: analyse one photo, print its wrinkle scores.

Usage: python sdk_examples/embed_minimal.py FACE.jpg [MODEL.onnx]
(the face landmarker is found through $WDS_EDGE_FACE_LANDMARKER or `wds-edge models fetch`)
"""

import sys

from wds_edge import WrinkleAnalyzer, read_image

if not 2 <= len(sys.argv) <= 3:
    sys.exit(__doc__.strip().splitlines()[2])  # the usage line, exit code 1
model = sys.argv[2] if len(sys.argv) > 2 else None  # None: the model bundled with wds-edge
with WrinkleAnalyzer(model_path=model) as analyzer:
    result = analyzer.analyze(read_image(sys.argv[1]))
print(f"status: {result.status.value} ({result.prompt})")  # no face, too blurry, ...: a status
for region, score in result.scores.items():  # empty when the frame was not segmented
    print(f"{region:17s} {100 * score.wrinkle_ratio:5.1f} %  {score.wrinkle_count} wrinkles")
