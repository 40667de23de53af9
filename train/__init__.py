"""Desktop training of the wrinkle U-Net with weighted deep supervision (needs torch)."""

from __future__ import annotations

from train.model import WrinkleUNet, count_parameters

__all__ = ["WrinkleUNet", "count_parameters"]
