"""Frames in: cameras, streams, video files and images behind one ``open_source(uri)``.

Frame type and source interface, URI sources, the latest-frame grabber, the reconnecting
source and frame extraction from recordings. The lowest stage of the data path: imports
only :mod:`wds_edge.errors` and :mod:`wds_edge.io`.
"""
