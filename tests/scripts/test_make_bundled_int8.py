"""scripts/make_bundled_int8.py --keep-layers: the option scripts/int8_sensitivity.py tells the
user to pass (it did not exist: the keep list was fixed in KEEP), checked against the real
bundled model before minutes of crops, and recorded in the manifest entry it writes."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from repo_scripts import load_script

from wds_edge.model.bundled import default_model_path


def _make():  # noqa: ANN202 - a module
    return load_script("scripts/make_bundled_int8.py")


def test_the_sensitivity_line_is_an_option_of_make_bundled_int8() -> None:
    sensitivity = load_script("scripts/int8_sensitivity.py")
    line = sensitivity.keep_layers_line(["/up1/conv/conv.0/Conv", "/inc/inc.3/Conv"])
    make = _make()
    args = make._parser().parse_args(shlex.split(line))
    keep = make.keep_settings(args.keep_layers)
    assert keep["keep_layers"] == ("/inc/inc.3/Conv", "/up1/conv/conv.0/Conv")
    assert keep["keep_first_conv"] and keep["keep_head"] and keep["keep_last_block"]
    # without the option: issue 25's list, unchanged
    assert make.keep_settings(make._parser().parse_args([]).keep_layers) == make.KEEP
    # both the layers of that list and of the override exist in the bundled model
    make.check_keep_layers(default_model_path(), make.KEEP["keep_layers"])
    make.check_keep_layers(default_model_path(), keep["keep_layers"])


def test_an_unknown_layer_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    with pytest.raises(SystemExit) as exc:
        _make().main(["--keep-layers", "/inc/inc.3/Conv", "/nope/Conv", "--work", str(work)])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "no layer '/nope/Conv'" in err and "/inc/inc.3/Conv" in err  # its convolutions listed
    assert not work.exists()
