"""Checkpoint round trip and clear errors on foreign / corrupt files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from wds_edge.errors import ModelError, WdsEdgeError
from wds_edge_train.checkpoint import OutputKindError, load_checkpoint, save_checkpoint
from wds_edge_train.model import WrinkleUNet

METRICS = {
    "val": {"jsi": 0.5, "accuracy": 0.9, "sensitivity": 0.6, "specificity": 0.95},
    "val_images": ["a"],
    "best_epoch": 3,
}


def _trained_like_model() -> WrinkleUNet:
    torch.manual_seed(0)
    net = WrinkleUNet(4, 8, "relu")
    net.train()
    with torch.no_grad():  # move BN running statistics away from their defaults
        for _ in range(3):
            net(torch.rand(2, 4, 32, 32))
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    return net.eval()


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    net = _trained_like_model()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    config = {"base_channels": 8, "activation": "relu", "loss": "wds", "epochs": 3}
    path = save_checkpoint(tmp_path / "run" / "best.pt", model=net, config=config,
                           metrics=METRICS, epoch=3, optimizer=opt, extra={"k": 1})  # fmt: skip
    assert sorted(p.name for p in path.parent.iterdir()) == ["best.pt"]  # no temp files left
    ckpt = load_checkpoint(path)
    assert not ckpt.model.training
    assert ckpt.model_config == {
        "in_channels": 4, "base_channels": 8, "activation": "relu", "out_channels": 1,
        "input_norm": "unit", "stem": "none",
    }  # fmt: skip
    assert ckpt.dice == "binary"
    assert ckpt.config == config and ckpt.metrics == METRICS and ckpt.epoch == 3
    assert ckpt.raw["format"] == "wds-edge-checkpoint" and ckpt.raw["format_version"] == 1
    assert ckpt.raw["extra"] == {"k": 1} and ckpt.raw["optimizer"] is not None
    x = torch.rand(1, 4, 48, 32)
    with torch.no_grad():
        assert torch.equal(net(x), ckpt.model(x))


def test_foreign_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save(WrinkleUNet(4, 8).state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ModelError, match="not a wds-edge checkpoint"):
        load_checkpoint(tmp_path / "bare.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="junk.pt: not a readable wds-edge checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"format": "wds-edge-checkpoint", "format_version": 99}, tmp_path / "v99.pt")
    with pytest.raises(ModelError, match="format version 99"):
        load_checkpoint(tmp_path / "v99.pt")
    net = WrinkleUNet(4, 8)
    save_checkpoint(tmp_path / "ok.pt", model=net, config={}, metrics={}, epoch=1)
    raw = torch.load(tmp_path / "ok.pt", weights_only=True)
    raw["model_config"]["base_channels"] = 16
    torch.save(raw, tmp_path / "mismatch.pt")
    with pytest.raises(ModelError, match="do not fit"):
        load_checkpoint(tmp_path / "mismatch.pt")


@pytest.mark.parametrize("content", [b"hello world", b"hello world\n", b"\x80\x02]q"])
def test_bytes_the_unpickler_chokes_on_are_a_clear_error(tmp_path: Path, content: bytes) -> None:
    """Some non-checkpoint bytes make torch's weights-only unpickler raise KeyError /
    IndexError (``printf 'hello world' > hello.pt``): the file is named, no traceback."""
    path = tmp_path / "hello.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="hello.pt: not a readable wds-edge checkpoint"):
        load_checkpoint(path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("activation", "gelu", r"model_config .* does not describe .*activation must be one of"),
        ("stem", "bogus", r"model_config .* does not describe .*stem must be one of"),
        ("out_channels", 3, r"model_config .* does not describe .*out_channels must be 1 or 2"),
        ("base_channels", -1, r"model_config .* does not describe .*must be positive"),
        ("epoch", "x", r"'epoch' is 'x', expected a whole number"),
        ("config", [1], r"'config' is list, expected a dict"),
        ("metrics", "m", r"'metrics' is str, expected a dict"),
        ("model_config", None, r"has no 'model_config'"),
    ],
)
def test_invalid_stored_values_are_a_clear_error(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    """An altered or foreign file with the right format tag: the error names the file and
    the entry, never an InvalidInputError / ValueError / AttributeError from inside."""
    save_checkpoint(tmp_path / "ok.pt", model=WrinkleUNet(4, 8), config={}, metrics={}, epoch=1)
    raw = torch.load(tmp_path / "ok.pt", weights_only=True)
    if key in raw["model_config"]:
        raw["model_config"][key] = value
    else:
        raw[key] = value
    torch.save(raw, tmp_path / "bad.pt")
    with pytest.raises(ModelError, match="bad.pt: .*" + message) as err:
        load_checkpoint(tmp_path / "bad.pt")
    assert type(err.value) is ModelError


def test_output_kind_is_recorded_and_enforced(tmp_path: Path) -> None:
    net2 = WrinkleUNet(4, 8, "relu", out_channels=2).eval()
    config = {"loss": "wds", "dice": "two-class"}
    path = save_checkpoint(tmp_path / "two.pt", model=net2, config=config, metrics={}, epoch=1)
    ckpt = load_checkpoint(path, expected_dice="two-class")
    assert ckpt.dice == "two-class" and ckpt.model_config["out_channels"] == 2
    with pytest.raises(OutputKindError, match="--dice two-class checkpoint .* cannot be used as"):
        load_checkpoint(path, expected_dice="binary")
    net1 = WrinkleUNet(4, 8, "relu").eval()
    path1 = save_checkpoint(tmp_path / "one.pt", model=net1, config={}, metrics={}, epoch=1)
    assert load_checkpoint(path1).dice == "binary"  # no 'dice' in the config: an older file
    with pytest.raises(OutputKindError, match="pass --dice binary"):
        load_checkpoint(path1, expected_dice="two-class")
    # a file whose model and training config disagree is refused, not guessed at
    bad = save_checkpoint(tmp_path / "bad.pt", model=net1, config=config, metrics={}, epoch=1)
    with pytest.raises(OutputKindError, match="inconsistent"):
        load_checkpoint(bad)
    assert issubclass(OutputKindError, WdsEdgeError)


def test_model_is_placed_on_map_location(tmp_path: Path) -> None:
    """The rebuilt model lives where its tensors were mapped (a GPU run evaluates its best
    checkpoint with ``map_location=device``; "meta" stands in for CUDA here)."""
    path = save_checkpoint(tmp_path / "best.pt", model=_trained_like_model(),
                           config={"loss": "wds"}, metrics=METRICS, epoch=1)  # fmt: skip
    ckpt = load_checkpoint(path, map_location="meta")
    devices = {p.device.type for p in ckpt.model.parameters()}
    devices |= {b.device.type for b in ckpt.model.buffers()}
    assert devices == {"meta"}
    assert {p.device.type for p in load_checkpoint(path).model.parameters()} == {"cpu"}
