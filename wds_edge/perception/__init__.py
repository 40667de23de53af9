"""Where the face is: MediaPipe landmarks, the landmarker model file, the one face crop
(paper Table 1), facial regions and the frame quality gates.

Imports :mod:`wds_edge.capture` and the base modules, never the runtime or analysis.
"""
