"""Before / after: per-region change between two results, and whether it exceeds the noise.

Two results of one person (e.g. before and after a treatment) differ by the change plus the
measurement's own noise. The noise comes from repeatability measured on one still person
(``wds-edge bench repeatability``): the standard error of measurement (SEM) of a result is
the sd of repeated results of that kind, per region,

* a complete fused capture (a session or a video: ``"fused": true``, ``"complete": true``)
  of at least as many frames as the repeatability's sessions fused (its
  ``session_config.frames_fused``: 10 for the defaults): the sd of fused session scores;
* a single photo / frame, a capture that fused fewer frames than it asked for
  (``"complete": false``), or a complete one of fewer frames than the sessions fused (the
  session noise holds for fusions of that many): the sd of per-frame scores;

scaled with the score's level (``SEM = max(cv x level, sd)``: the measured cv at this
person's level, never below the sd measured on the clip). The minimal detectable change at
95 % confidence (Weir 2005; de Vet et al. 2006) is then

    MDC95 = q * sqrt(SEM_before^2 + SEM_after^2)

(``q * sqrt(2) * SEM`` when both SEMs are equal), with ``q`` = 1.96 for results judged by
the per-frame noise (an sd of many frames) and ``q`` = t(0.975, df) when either is judged
by the session noise, ``df`` the degrees of freedom of the session sd (its sessions less
one: 2 for the defaults, t = 4.303; the comparison notes it); a hand-made report without
sessions or ``session_df`` keeps 1.96. A result that carries its own per-frame
spread (a fused capture) also has a standard error of its mean, ``sd_frames / sqrt(n)``;
the larger of the two SEMs is used. A change smaller than MDC95 is reported as
``"within noise"``.

Only results of one model compare: the same name, version, input size and threshold, and
the same model file (the ``sha256`` the result's model block records; an INT8 model, Q/DQ
or OpenVINO IR, counts as the FP32 model it was quantized from). Backends and precisions may
differ (BF16 and FP32 results of one model differ within the noise). Both results must score
the same regions; a region whose whole area was excluded (``area_px`` 0: hidden by hair or
glasses) is "not measured" and gets no verdict.

Without a repeatability file the defaults are those measured on the kiosk clip with the
bundled model 1.0.0 (:data:`DEFAULT_REPEATABILITY`; benchmarks/RESULTS.md, "Issue 21").
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wds_edge._checks import is_finite_number
from wds_edge.errors import InvalidInputError
from wds_edge.perception.expression import CAPTURE_EXPRESSIONS, missed_capture_warning

__all__ = [
    "Z95",
    "NOT_MEASURED",
    "DEFAULT_REPEATABILITY",
    "RegionChange",
    "Comparison",
    "compare_results",
    "load_result",
]

#: Two-sided 95 % normal quantile.
Z95 = 1.96

#: Two-sided 95 % quantiles of Student's t, t(0.975, df) for df 1-30 (beyond 30:
#: :func:`_t95`'s Cornish-Fisher approximation, within 0.003 of the exact value).
_T95_TABLE = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def _t95(df: int | None) -> float:
    """t(0.975, ``df``): the 95 % two-sided quantile for an sd estimated with ``df``
    degrees of freedom (:data:`Z95` when ``df`` is ``None``: not known)."""
    if df is None:
        return Z95
    if df <= len(_T95_TABLE):
        return _T95_TABLE[df - 1]
    return Z95 + (Z95**3 + Z95) / (4 * df)


#: The verdict of a region that one of the results could not measure (``area_px`` 0).
NOT_MEASURED = "not measured"

#: The model-block keys two results must agree on (besides the model file's sha256).
_MODEL_KEYS = ("name", "version", "input_size_px", "threshold")

#: The repeatability figures a region of a report may hold (sd and cv, 0-1 ratios, >= 0).
_NOISE_KEYS = ("frame_sd", "frame_cv", "session_sd", "session_cv")

_MAKE_REPEATABILITY = "make one with `wds-edge bench repeatability --source CLIP --out DIR`"

#: Repeatability measured on portrait_motion_720p.mp4 with the bundled model 1.0.0, ONNX
#: Runtime FP32 (`wds-edge bench repeatability`, benchmarks/RESULTS.md, "Issue 21"): per
#: region the sd / cv of per-frame scores and of fused session scores (wrinkle ratio, 0-1).
DEFAULT_REPEATABILITY: dict[str, Any] = {
    "source": "built-in default: measured on one clip of one person (portrait_motion_720p.mp4, "
    "3 sessions) with the bundled model 1.0.0, onnxruntime fp32",
    "model": {"name": "wds-unet-starter", "version": "1.0.0"},
    # the sessions fused 10 frames each: the session noise holds for captures of as many
    "session_config": {"frames_fused": 10},
    # the session sd is the sd of 3 sessions: 2 degrees of freedom (t(0.975, 2) = 4.303)
    "session_df": 2,
    "regions": {
        "overall": {
            "frame_sd": 0.00316,
            "frame_cv": 0.0573,
            "session_sd": 0.00121,
            "session_cv": 0.0248,
        },
        "forehead": {
            "frame_sd": 0.00510,
            "frame_cv": 0.1472,
            "session_sd": 0.00093,
            "session_cv": 0.0319,
        },
        "glabella": {
            "frame_sd": 0.01278,
            "frame_cv": 0.0885,
            "session_sd": 0.00974,
            "session_cv": 0.0705,
        },
        "left_crows_feet": {
            "frame_sd": 0.00898,
            "frame_cv": 0.4127,
            "session_sd": 0.00158,
            "session_cv": 0.1009,
        },
        "right_crows_feet": {
            "frame_sd": 0.00851,
            "frame_cv": 0.3158,
            "session_sd": 0.00239,
            "session_cv": 0.1559,
        },
        "left_under_eye": {
            "frame_sd": 0.00468,
            "frame_cv": 0.0480,
            "session_sd": 0.00269,
            "session_cv": 0.0293,
        },
        "right_under_eye": {
            "frame_sd": 0.00624,
            "frame_cv": 0.0517,
            "session_sd": 0.00148,
            "session_cv": 0.0130,
        },
    },
}


@dataclass(frozen=True)
class RegionChange:
    """The change of one region's wrinkle ratio (ratios in [0, 1]).

    A region one result could not measure (its ``area_px`` is 0) has the verdict
    :data:`NOT_MEASURED`, ``None`` for that result's ratio, the change and the MDC95.
    """

    region: str
    before: float | None
    after: float | None
    change: float | None
    mdc95: float | None
    verdict: str  # "within noise", "increase", "decrease", "not measured"

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        relative = None
        if self.change is not None and self.before:
            relative = round(self.change / self.before, 4)
        return {
            "region": self.region,
            "before": rounded(self.before),
            "after": rounded(self.after),
            "change": rounded(self.change),
            "relative_change": relative,
            "mdc95": rounded(self.mdc95),
            "verdict": self.verdict,
        }


@dataclass
class Comparison:
    """Per-region changes between two results and what they were judged against."""

    changes: list[RegionChange]
    repeatability_source: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "comparison",
            "repeatability_source": self.repeatability_source,
            "mdc": "MDC95 = 1.96 * sqrt(SEM_before^2 + SEM_after^2), SEM = max(cv * level, sd)",
            "notes": list(self.notes),
            "regions": [c.to_dict() for c in self.changes],
        }


#: What :func:`load_result` reads, by ``what``: the thing named in its messages, what binary
#: data passed for it probably is, and the file to pass instead.
_WANTED = {
    "result": (
        "a JSON result",
        "an overlay image?",
        "pass the .json that `wds-edge analyze --out DIR` writes",
    ),
    "repeatability": (
        "a repeatability report",
        "its plot repeatability.png?",
        "pass the repeatability.json that `wds-edge bench repeatability --out DIR` writes",
    ),
}


def load_result(path: str | os.PathLike[str], what: str = "result") -> dict[str, Any]:
    """Read one result JSON (``analyze --out`` / ``--json`` of one input, a session's
    ``to_dict()``) or, with ``what="repeatability"``, a ``bench repeatability`` report.

    The file may be UTF-8 (with or without a byte order mark), UTF-16 or UTF-32, as
    editors on Windows save it.

    Args:
        path: the JSON file.
        what: ``"result"`` or ``"repeatability"``: what the file should be (the messages
            name it and the file to pass instead).

    Raises:
        InvalidInputError: a missing or empty file, binary data, not JSON (the line where
            it stops being JSON: a file cut off?), several JSON objects (each line JSON on
            its own: JSON lines of several inputs; save each input's line to its own file),
            more than one JSON value (results run together in one file), a number too long
            to read, or JSON that is not an object.
    """
    if what not in _WANTED:
        raise InvalidInputError(
            f"load_result reads a 'result' or a 'repeatability' report, got what={what!r}"
        )
    noun, binary, advice = _WANTED[what]
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:  # UTF-8 (a BOM too), UTF-16 and UTF-32, told by their first bytes as json.loads does
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise InvalidInputError(f"{file} is not {noun} (binary data: {binary}); {advice}") from None
    if not text.strip():
        raise InvalidInputError(f"{file} is an empty file, not {noun}: {advice}")
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidInputError(f"{file} is not {noun} (JSON nested too deeply)") from None
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and all(_parses(line) for line in lines):
            several = (
                "JSON lines of several inputs? save the one result to compare in its own file"
                if what == "result"
                else advice
            )
            raise InvalidInputError(
                f"{file} is not one JSON {'result' if what == 'result' else 'object'} "
                f"({len(lines)} lines, each JSON on its own: {several})"
            ) from None
        if exc.msg == "Extra data":  # a whole JSON value, then more: files run together
            raise InvalidInputError(
                f"{file} is not {noun}: it holds more than one JSON value (several results "
                f"in one file?): the first ends before line {exc.lineno} column {exc.colno}; "
                f"{advice}"
            ) from None
        raise InvalidInputError(
            f"{file} is not {noun}: not valid JSON (cut off?) at line {exc.lineno} column "
            f"{exc.colno} ({exc.msg}); {advice}"
        ) from None
    except ValueError:  # an integer of more digits than int() reads (sys.set_int_max_str_digits)
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()
        raise InvalidInputError(
            f"{file} is not {noun} wds-edge wrote: it holds a whole number of more than "
            f"{limit} digits; {advice}"
        ) from None
    if not isinstance(data, dict):
        kind = _JSON_KINDS.get(type(data), type(data).__name__)
        raise InvalidInputError(f"{file} holds a JSON {kind}, not an object: not {noun}; {advice}")
    return data


def _parses(line: str) -> bool:
    """Whether one line is JSON on its own (a line of JSON lines)."""
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


#: JSON's names of what :func:`json.loads` returns, for messages.
_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "true / false",
    type(None): "null",
}


#: What a capture's missed-expression warning means for its scores, per capture kind.
_MISSED_NOTES = {
    "neutral": "face was not neutral: expression deepens lines",
    "raise_brows": "capture fused frames without raised brows: its forehead lines show less",
}


def _ratio(result: dict[str, Any], name: str, region: str) -> float:
    """``scores[region].wrinkle_ratio`` of a result, checked (a hand-edited or foreign file
    must not end in a traceback)."""
    score = result["scores"][region]
    value = score.get("wrinkle_ratio") if isinstance(score, dict) else None
    if not (is_finite_number(value) and 0.0 <= value <= 1.0):
        raise InvalidInputError(
            f"the {name} result's score for {region!r} has no wrinkle_ratio in [0, 1] (got "
            f"{str(score)[:60]!r}): pass a result written by `wds-edge analyze`"
        )
    return float(value)


def _bad(name: str, what: str, value: Any) -> InvalidInputError:
    return InvalidInputError(
        f"the {name} result's {what} (got {str(value)[:60]!r}): pass a result written by "
        "`wds-edge analyze`"
    )


def _frames_used(result: dict[str, Any], name: str) -> int:
    """``frames_used`` of a result, checked (0 when absent: a photo)."""
    value = result.get("frames_used")
    if value is None:
        return 0
    if not (isinstance(value, int) and is_finite_number(value) and value >= 0):
        raise _bad(name, "frames_used is not a whole number of frames", value)
    return value


def _fused(result: dict[str, Any], name: str, measured_at: int) -> bool:
    """Whether the result is judged by the session noise: a complete fused capture of at
    least ``measured_at`` frames, the frames each session of the repeatability fused
    (:func:`_measured_at`). A capture that fused fewer (``complete`` false: most frames
    refused; or a complete one of a smaller ``frames_fused``) or one frame is judged by the
    per-frame noise (with the 10-frame session noise, 2-9-frame captures of a still face
    called a change in 26-32 % of comparisons instead of ~5 %). A result without
    ``complete`` or ``frames_used`` (written by hand) counts as complete."""
    if not _fused_any(result, name) or result.get("complete", True) is False:
        return False
    return result.get("frames_used") is None or _frames_used(result, name) >= measured_at


def _session_df(rep: dict[str, Any]) -> int | None:
    """The degrees of freedom of a repeatability report's session sd: its ``session_df``,
    or its sessions less one (``bench repeatability`` lists them); ``None`` when neither
    is there (a hand-made report)."""
    value = rep.get("session_df")
    if value is None and isinstance(rep.get("sessions"), list):
        value = len(rep["sessions"]) - 1
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(
            f"the repeatability report's session_df is not a whole number >= 1 (its "
            f"sessions less one; got {str(value)[:60]!r}): {_MAKE_REPEATABILITY}"
        )
    return value


def _measured_at(rep: dict[str, Any]) -> int:
    """The frames each session of a repeatability report fused (its ``session_config``'s
    ``frames_fused``; 10, the default capture's, for a report without one)."""
    config = rep.get("session_config")
    value = config.get("frames_fused", 10) if isinstance(config, dict) else 10
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(
            f"the repeatability report's session_config.frames_fused is not a whole number "
            f">= 1 (got {str(value)[:60]!r}): {_MAKE_REPEATABILITY}"
        )
    return value


def _fused_any(result: dict[str, Any], name: str) -> bool:
    """A fused capture of more than one frame (complete or not)."""
    return bool(result.get("fused")) and (_frames_used(result, name) or 2) >= 2


def _area(result: dict[str, Any], name: str, region: str) -> int | None:
    """``scores[region].area_px`` of a result, checked (``None`` when absent)."""
    value = result["scores"][region].get("area_px")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(name, f"area_px of {region!r} is not a pixel count", value)
    return value


def _model(result: dict[str, Any], name: str) -> dict[str, Any]:
    """The model block of a result (a fused one's is its reference frame's), checked."""
    holder = result.get("frame") or result
    if not isinstance(holder, dict):
        raise _bad(name, "frame is not a result table", holder)
    model = holder.get("model") or {}
    if not isinstance(model, dict):
        raise _bad(name, "model is not a table", model)
    return model


def _fingerprint(model: dict[str, Any]) -> str | None:
    """The model file's identity: an INT8 model's FP32 source, else the file's sha256."""
    value = model.get("source_sha256") or model.get("sha256")
    return str(value) if value else None


def _check_models(models: list[dict[str, Any]]) -> list[str]:
    """Refuse results of different models; the notes on what could not be checked."""
    differ = [
        f"{k} {models[0].get(k)!r} / {models[1].get(k)!r}"
        for k in _MODEL_KEYS
        if models[0].get(k) != models[1].get(k)
    ]
    prints = [_fingerprint(m) for m in models]
    if not differ and prints[0] and prints[1] and prints[0] != prints[1]:
        differ.append(
            f"model file sha256 {prints[0][:12]}... / {prints[1][:12]}... (both "
            f"{models[0].get('name')} {models[0].get('version')}: give each model its own "
            "name or version with `wds-edge export --model-name / --model-version`)"
        )
    if differ:
        raise InvalidInputError(
            f"the two results come from different models or thresholds (before / after: "
            f"{'; '.join(differ)}): their scores are not comparable; analyse both with one "
            "model (backends and precisions may differ)"
        )
    notes = []
    unknown = [n for n, p in zip(("before", "after"), prints, strict=True) if not p]
    if unknown:
        paths = [str(m.get("path")) for m in models]
        where = (
            f"; their model files differ in path ({paths[0]} / {paths[1]}): check they are "
            "the same model"
            if paths[0] != paths[1]
            else ""
        )
        notes.append(
            f"the {' and '.join(unknown)} result{'s do' if len(unknown) == 2 else ' does'} not "
            "record the model file's sha256 (written by an earlier wds-edge): the models "
            f"were compared by name, version, input size and threshold only{where}"
        )
    return notes


def _noise_table(rep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``regions`` table of a repeatability report, checked: a table of region tables
    whose sd / cv figures are finite numbers >= 0 (a hand-edited or foreign file must not
    end in a traceback)."""
    if not isinstance(rep, dict):
        raise InvalidInputError(
            f"the repeatability report is not a JSON object: {_MAKE_REPEATABILITY}"
        )
    table = rep.get("regions")
    if not table:
        raise InvalidInputError(f"the repeatability report holds no regions: {_MAKE_REPEATABILITY}")
    if not isinstance(table, dict):
        raise InvalidInputError(
            f"the repeatability report's regions are not a table of regions (got "
            f"{str(table)[:60]!r}): {_MAKE_REPEATABILITY}"
        )
    for region, stats in table.items():
        if not isinstance(stats, dict):
            raise InvalidInputError(
                f"the repeatability report's {region!r} is not a table of "
                f"{' / '.join(_NOISE_KEYS)} (got {str(stats)[:60]!r}): {_MAKE_REPEATABILITY}"
            )
        for key in _NOISE_KEYS:
            value = stats.get(key, 0.0)  # a figure left out counts as none
            if not (is_finite_number(value) and value >= 0):
                raise InvalidInputError(
                    f"the repeatability report's {key} of {region!r} is not a number >= 0 "
                    f"(got {str(value)[:40]!r}): {_MAKE_REPEATABILITY}"
                )
    model = rep.get("model")
    if model is not None and not isinstance(model, dict):
        raise InvalidInputError(
            f"the repeatability report's model is not a table (got {str(model)[:60]!r}): "
            f"{_MAKE_REPEATABILITY}"
        )
    return table


def _sem(stats: dict[str, float] | None, kind: str, level: float) -> float:
    if not stats:
        return 0.0
    sd, cv = float(stats.get(f"{kind}_sd", 0.0)), float(stats.get(f"{kind}_cv", 0.0))
    return max(cv * level, sd)


def _own_sem(result: dict[str, Any], name: str, region: str) -> float:
    """The standard error of a fused result's mean from its own frames' spread (0 without
    one), checked like :func:`_ratio`."""
    table = result.get("per_frame_spread") or {}
    if not isinstance(table, dict):
        raise _bad(name, "per_frame_spread is not a region table", table)
    spread = table.get(region)
    n = _frames_used(result, name)
    if not spread or n < 2:
        return 0.0
    sd = spread.get("sd", 0.0) if isinstance(spread, dict) else None
    if not is_finite_number(sd) or sd < 0:
        raise _bad(name, f"per_frame_spread for {region!r} has no sd >= 0", spread)
    return float(sd) / math.sqrt(n)


_PASS_A_RESULT = (
    "pass the result JSON `wds-edge analyze --out DIR` writes (in the SDK: a FrameResult, a "
    "FinalResult or its to_dict())"
)


def _as_result(value: Any, name: str) -> dict[str, Any]:
    """A result dict from what was passed: a result object (its ``to_dict()``), a result
    dict, or the ``GET /v1/capture`` response of a finished capture (its ``capture.final``:
    the one result it holds, so taking it is unambiguous). Anything else is refused, named
    for what it is (a ``bench`` report, a capture without a final result, foreign JSON)."""
    if not isinstance(value, dict) and callable(getattr(value, "to_dict", None)):
        value = value.to_dict()  # FrameResult / FinalResult
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"the {name} result is a {type(value).__name__}, not a result: {_PASS_A_RESULT}"
        )
    capture = value.get("capture")
    if isinstance(capture, dict) and "final" in capture:  # the GET /v1/capture envelope
        final = capture["final"]
        if isinstance(final, dict):
            return final
        raise InvalidInputError(
            f"the {name} result is a `GET /v1/capture` response of a capture that has no "
            f"final result (state {str(capture.get('state'))[:20]!r}, status "
            f"{str(capture.get('status'))[:20]!r}): save the response once the capture's "
            "state is 'done'"
        )
    if "status" not in value and isinstance(value.get("kind"), str):
        raise InvalidInputError(
            f"the {name} result is a wds-edge {value['kind'][:30]!r} report (`wds-edge bench` "
            f"/ `compare` output), not an analysis result: {_PASS_A_RESULT}"
        )
    if "status" not in value or "scores" not in value:
        raise InvalidInputError(
            f"the {name} result is not a wds-edge result (no status / scores): {_PASS_A_RESULT}"
        )
    return value


def compare_results(
    before: Any,
    after: Any,
    repeatability: dict[str, Any] | str | os.PathLike[str] | None = None,
) -> Comparison:
    """Per-region change from ``before`` to ``after`` with its minimal detectable change.

    Args:
        before, after: results: :class:`~wds_edge.analysis.result.FrameResult` /
            :class:`~wds_edge.analysis.final.FinalResult` objects or their ``to_dict()`` (the
            JSON ``wds-edge analyze`` writes), or a ``GET /v1/capture`` response (its
            ``capture.final`` is compared); both must have status ``ok``.
        repeatability: a ``bench repeatability`` report (``regions`` with ``frame_sd``,
            ``frame_cv``, ``session_sd``, ``session_cv``), as a dict or the path of its
            ``repeatability.json`` (read with :func:`load_result`); ``None`` uses
            :data:`DEFAULT_REPEATABILITY`.

    Returns:
        :class:`Comparison` (regions in ``before``'s order; ``"within noise"`` when
        ``|after - before| <= MDC95``; ``"not measured"`` for a region with ``area_px`` 0
        in either result). A fused result of one frame, an incomplete one (``complete``
        false: fewer frames fused than asked), or one of fewer frames than the
        repeatability's sessions fused (its ``session_config.frames_fused``, 10 when
        absent), is judged by the per-frame noise, with a note.
        Results that do not record their model file's sha256 (written before it was
        recorded) are compared on the rest of their model block, with a note.

    Raises:
        InvalidInputError: something that is not a result (a ``bench`` report, a capture
            response without a final result, JSON without status / scores); a result that
            is not ``ok``; results of different models (name,
            version, input size, threshold or model file); of different capture kinds
            (neutral / raise_brows); a fused capture against a single photo; results that
            score different regions, or with a score that is not a ratio or an ``area_px``
            that is not a count; a ``frames_used`` that is not a count or a
            ``per_frame_spread`` without an sd per region; a repeatability report without
            regions or with sd / cv figures that are not numbers >= 0.
    """
    before, after = _as_result(before, "before"), _as_result(after, "after")
    for name, result in (("before", before), ("after", after)):
        if result.get("status") != "ok" or not result.get("scores"):
            raise InvalidInputError(
                f"the {name} result has status {result.get('status')!r} and no scores: "
                "compare two analyses that found a usable face"
            )
        if not isinstance(result["scores"], dict):
            raise InvalidInputError(f"the {name} result's scores are not a region table")
        _frames_used(result, name)  # refused up front, whatever the verdicts read
    if bool(before.get("fused")) != bool(after.get("fused")):
        kind = ["a fused capture" if r.get("fused") else "a single photo" for r in (before, after)]
        raise InvalidInputError(
            f"before is {kind[0]} and after {kind[1]}: fusing frames lowers the scores of faint "
            "lines (on the kiosk clip a fused capture reads 0.89x the per-frame overall score, "
            "0.57-0.72x on the crow's feet), so the difference would be the method's; compare "
            "a capture with a capture (a video or the kiosk) or a photo with a photo"
        )
    kinds = [r.get("capture") or "neutral" for r in (before, after)]
    if kinds[0] != kinds[1]:
        raise InvalidInputError(
            f"before is a {kinds[0]} capture and after a {kinds[1]} one: lines under another "
            "expression are not a change of the skin; compare captures of the same kind"
        )
    if isinstance(repeatability, (str, os.PathLike)):
        repeatability = load_result(repeatability, "repeatability")
    rep = repeatability if repeatability is not None else DEFAULT_REPEATABILITY
    table = _noise_table(rep)
    models = [_model(before, "before"), _model(after, "after")]
    notes = _check_models(models)
    measured_with = rep.get("model") or {}
    prints = [_fingerprint(measured_with), _fingerprint(models[0])]
    if measured_with and (
        any(measured_with.get(k) != models[0].get(k) for k in ("name", "version"))
        or (prints[0] and prints[1] and prints[0] != prints[1])
    ):
        notes.append("the repeatability was measured with another model: its noise may differ")
    if kinds[0] not in CAPTURE_EXPRESSIONS:
        raise InvalidInputError(
            f"the results are {str(kinds[0])[:40]!r} captures, not a kind wds-edge makes "
            f"({', '.join(CAPTURE_EXPRESSIONS)}): pass results written by `wds-edge analyze`"
        )
    measured_at = _measured_at(rep)
    for name, result in (("before", before), ("after", after)):
        if result.get("fused") and not _fused(result, name, measured_at):
            used = _frames_used(result, name)
            why = (
                f"fewer than the {measured_at} the session noise was measured at"
                if used < measured_at
                else "not the complete capture the session noise was measured on"
            )
            notes.append(
                f"the {name} capture fused {used} frame{'' if used == 1 else 's'}, {why}: it "
                "is judged by the per-frame noise"
            )
    missed = missed_capture_warning(kinds[0])  # a capture that lacked the asked face
    for name, result in (("before", before), ("after", after)):
        warnings = result.get("warnings") or []
        if not isinstance(warnings, list):
            raise InvalidInputError(
                f"the {name} result's warnings are not a list of names (got "
                f"{str(warnings)[:60]!r}): pass a result written by `wds-edge analyze`"
            )
        if missed in warnings:
            notes.append(f"the {name} {_MISSED_NOTES[kinds[0]]}")
    only = [
        [n for n in one["scores"] if n not in other["scores"]]
        for one, other in ((before, after), (after, before))
    ]
    if only[0] or only[1]:
        said = [
            f"only the {name} result scores {', '.join(map(str, names))}"
            for name, names in zip(("before", "after"), only, strict=True)
            if names
        ]
        raise InvalidInputError(
            f"the two results score different regions ({'; '.join(said)}): compare results "
            "analysed with one wds-edge version and model"
        )
    common = list(before["scores"])
    missing = [n for n in common if not table.get(n)]
    if missing:
        notes.append(
            f"no repeatability figures for {', '.join(missing)}: only the results' own frame "
            "spread sets their minimal detectable change"
        )
    session_df = _session_df(rep)
    quantile = _t95(session_df)
    judged = [_fused(r, n, measured_at) for n, r in (("before", before), ("after", after))]
    if session_df is not None and any(judged):
        notes.append(
            f"the session noise is the sd of {session_df + 1} sessions ({session_df} degrees "
            f"of freedom): the MDC95 uses t = {quantile:.3f} instead of {Z95}"
        )
    changes = []
    unmeasured = []
    for region in common:
        b = _ratio(before, "before", region)
        a = _ratio(after, "after", region)
        empty = [n for n, r in (("before", before), ("after", after)) if _area(r, n, region) == 0]
        if empty:  # the whole region was excluded: its 0 is no measurement
            unmeasured.append(f"{region} ({' and '.join(empty)})")
            changes.append(
                RegionChange(
                    region,
                    None if "before" in empty else b,
                    None if "after" in empty else a,
                    None,
                    None,
                    NOT_MEASURED,
                )
            )
            continue
        level = (a + b) / 2  # one level for both: the SEMs must not favour a direction
        sems = []
        for name, result, session in (("before", before, judged[0]), ("after", after, judged[1])):
            kind = "session" if session else "frame"
            sems.append(max(_sem(table.get(region), kind, level), _own_sem(result, name, region)))
        # an sd of few sessions is itself uncertain: its t quantile (the per-frame sd, of
        # many frames, keeps the normal one); one session-judged side sets it for both
        # (conservative: a Welch df would lie between)
        mdc = (quantile if any(judged) else Z95) * math.sqrt(sems[0] ** 2 + sems[1] ** 2)
        change = a - b
        verdict = "increase" if change > 0 else "decrease"
        if abs(change) <= mdc:  # an MDC of 0 (no noise figure) still calls "no change" noise
            verdict = "within noise"
        changes.append(RegionChange(region, b, a, change, mdc, verdict))
    if unmeasured:
        notes.append(
            f"not measured: {', '.join(unmeasured)}: the region's whole area was excluded "
            "(area_px 0: hidden by hair, glasses or a hand, or out of the crop), so it has "
            "no score to compare"
        )
    return Comparison(changes, str(rep.get("source", "repeatability report")), notes)
