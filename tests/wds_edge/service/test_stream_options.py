"""The options a stream client sends (wds_edge.service.stream.StreamOptions): all or none."""

from __future__ import annotations

import pytest

from wds_edge.errors import InvalidInputError
from wds_edge.service.stream import StreamOptions


@pytest.mark.parametrize(
    "message",
    [{"image": "overlay", "fps": 100}, {"image": "mask", "quality": 10},
     {"fps": 2, "quality": 80, "colour": "red"}, {"quality": 50, "image": "gif"}],
)  # fmt: skip
def test_a_refused_message_changes_nothing(message: dict[str, object]) -> None:
    """{"image": "overlay", "fps": 100} was answered with an fps error, yet the stream
    switched to overlay images: the keys before the refused one were applied."""
    options = StreamOptions(image="none", fps=5.0, quality=70)
    with pytest.raises(InvalidInputError):
        options.update(message, max_fps=15.0)
    assert (options.image, options.fps, options.quality) == ("none", 5.0, 70)


def test_an_accepted_message_applies_every_key() -> None:
    options = StreamOptions(image="none", fps=5.0, quality=70)
    options.update({"image": "mask", "fps": "2", "quality": 90, "token": "x"}, max_fps=15.0)
    assert (options.image, options.fps, options.quality) == ("mask", 2.0, 90)
