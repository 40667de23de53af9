"""The model layer: what a segmentation model is and how it is fed.

Model metadata (the contract every model carries), the one preprocessing path (paper
Eq. 1 texture map, normalization), the paper's segmentation metrics and the bundled
starter model. Imports only :mod:`wds_edge.errors` and :mod:`wds_edge.io` below it.
"""
