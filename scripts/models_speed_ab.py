"""Several models on one OpenVINO precision, interleaved in one process, with paired differences.

``wds-edge bench compare`` interleaves backends for one model, or models on ONNX Runtime /
TensorRT; this script interleaves *models* on OpenVINO (issue 25: the bundled base 16, a
base 8 and the ``space_to_depth`` stem in BF16 on an AMX Xeon). One call of each model per
round, the order rotated; the first round warms up (``profile_openvino.interleaved``). Per
model: p50, min, p90, and the median of its per-round difference to the first model
(back-to-back calls, so a shared VM's slow stretches hit both sides of a difference alike).
Every model gets noise of its own input shape and range (``profile_openvino.crop_input``,
from its metadata; a dense CNN's latency does not depend on pixels).

    python scripts/models_speed_ab.py --model base16=wds_edge/model/weights/wds_unet_default.onnx \
        --model stem16=runs/s25_stem16/wds_unet_default.onnx [--precision bf16] [--rounds 60]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from cpu_limits import cpu_line, finish_load  # noqa: E402
from profile_openvino import crop_input, interleaved, print_times  # noqa: E402

from wds_edge.bench.environment import LoadWatch  # noqa: E402
from wds_edge.runtime.openvino import (  # noqa: E402
    OPENVINO_PRECISIONS,
    OpenVinoBackend,
    native_precisions,
)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.precision not in OPENVINO_PRECISIONS:
        ap.error(f"--precision must be one of {', '.join(OPENVINO_PRECISIONS)}, "
                 f"got {args.precision!r}")  # fmt: skip
    native = native_precisions()
    if args.precision not in native:
        ap.error(f"--precision {args.precision}: this CPU's OpenVINO runs "
                 f"{', '.join(native)} natively, not {args.precision}")  # fmt: skip
    models: dict[str, str] = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            raise SystemExit(f"--model wants NAME=PATH of an existing .onnx, got {item!r}")
        if name in models:  # the second would replace the first's row (and leave it open)
            ap.error(f"--model {item!r}: the name {name!r} is given twice (to {models[name]} "
                     "too); give every model a name of its own")  # fmt: skip
        models[name] = path
    load = LoadWatch()
    backends: dict[str, OpenVinoBackend] = {}
    for name, path in models.items():
        backend = OpenVinoBackend(path, precision=args.precision)
        arch = backend.metadata.architecture
        backends[f"{name} ({arch.gflops if arch else '?'} GFLOP)"] = backend
    sizes = {b.metadata.input_size_hw[0] for b in backends.values()}
    if len(sizes) != 1:
        raise SystemExit(f"the models take different input sizes {sorted(sizes)}")
    x = {name: crop_input(backend) for name, backend in backends.items()}
    print(f"CPU: {cpu_line()}\n{next(iter(backends.values())).device}")
    times, cpu = interleaved(backends, x, args.rounds)
    print_times(f"{args.rounds} interleaved rounds, OpenVINO {args.precision.upper()}", times, cpu,
                next(iter(backends)))  # fmt: skip
    for backend in backends.values():
        backend.close()
    finish_load(load)


if __name__ == "__main__":
    main()
