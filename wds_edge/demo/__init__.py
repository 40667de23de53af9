"""The live camera demo: display loop, segmentation worker, heads-up display, outputs."""
