"""From a frame to a result: the analyzer, kiosk session, result values, scoring
(paper Eq. 12), overlays and batch analysis of files.

The layer that joins perception (where the face is) and runtime (the network).
"""
