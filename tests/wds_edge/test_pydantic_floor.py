"""pydantic 2.5-2.9 (``pydantic>=2.5`` is the floor) warn on every import about a field named
``model_*`` unless its model turns the ``model_`` protected namespace off: each such model in
wds_edge must (2.10+ no longer warns, so the installed version cannot show it)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from pydantic import BaseModel

import wds_edge

pytest.importorskip("starlette", reason="wds_edge.service is part of the walk")


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for info in pkgutil.walk_packages(wds_edge.__path__, "wds_edge."):
        if info.name.endswith("__main__"):  # runs the CLI
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseModel)
                and value.__module__.startswith("wds_edge")
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_models_with_model_fields_turn_the_protected_namespace_off() -> None:
    models = _models()
    with_model_fields = [m for m in models if any(f.startswith("model_") for f in m.model_fields)]
    assert {m.__name__ for m in with_model_fields} >= {
        "ModelMetadata", "AnalyzerConfig", "ServiceConfig"
    }  # fmt: skip
    wrong = [
        m.__name__
        for m in with_model_fields
        if m.model_config.get("protected_namespaces", ("model_",)) != ()
    ]
    assert not wrong, f"set protected_namespaces=() in the model_config of {wrong}"
