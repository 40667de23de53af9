"""Semi-automatic wrinkle labeling (paper Sec. 3.3, Fig. 3): rough annotation -> ground truth.

Numpy / OpenCV / scikit-image only (no torch). Modules:

* :mod:`~wds_edge_train.labeling.thresholding` - Eq. 2 masking, Bradley-Roth and Gaussian
thresholds;
* :mod:`~wds_edge_train.labeling.annotations` - mask images, LabelMe JSON, CVAT XML -> rough masks;
* :mod:`~wds_edge_train.labeling.auto` - weak rough masks from landmarks + a ridge filter;
* :mod:`~wds_edge_train.labeling.preview` - overlay previews;
* :mod:`~wds_edge_train.labeling.runner` - the batch run behind ``wds-edge label``.
"""

from __future__ import annotations

from wds_edge_train.labeling.annotations import (
    DEFAULT_STROKE_WIDTH_PX,
    RoughAnnotation,
    Shape,
    VectorAnnotation,
    index_rough_annotations,
    rasterize_shapes,
    read_cvat_xml,
    read_labelme,
    read_mask_image,
    rough_mask,
)
from wds_edge_train.labeling.preview import label_preview
from wds_edge_train.labeling.runner import (
    WEAK_LABEL_NOTE,
    LabeledImage,
    LabelItem,
    LabelOptions,
    LabelRunSummary,
    label_folder,
    list_images,
)
from wds_edge_train.labeling.thresholding import (
    DEFAULT_THRESHOLD,
    ThresholdMethod,
    bradley_roth_threshold,
    gaussian_adaptive_threshold,
    inverted_masked_texture,
    masked_texture,
    semi_automatic_label,
    threshold_texture,
)

__all__ = [
    "DEFAULT_STROKE_WIDTH_PX",
    "DEFAULT_THRESHOLD",
    "WEAK_LABEL_NOTE",
    "LabelItem",
    "LabelOptions",
    "LabelRunSummary",
    "LabeledImage",
    "RoughAnnotation",
    "Shape",
    "ThresholdMethod",
    "VectorAnnotation",
    "bradley_roth_threshold",
    "gaussian_adaptive_threshold",
    "index_rough_annotations",
    "inverted_masked_texture",
    "label_folder",
    "label_preview",
    "list_images",
    "masked_texture",
    "rasterize_shapes",
    "read_cvat_xml",
    "read_labelme",
    "read_mask_image",
    "rough_mask",
    "semi_automatic_label",
    "threshold_texture",
]
