"""The base of the SDK's settings models: a bad value raises the SDK's own error.

:class:`Settings` is a pydantic model whose construction turns pydantic's
``ValidationError`` into :class:`~wds_edge.errors.InvalidInputError` (a
:class:`~wds_edge.errors.WdsEdgeError`) worded by
:func:`~wds_edge.errors.describe_validation_error`, e.g. ``invalid session settings:
frames_needed = 0: must be greater than or equal to 1``: an embedder catches every error of
the SDK with one ``except WdsEdgeError`` and never imports pydantic. ``model_validate``
keeps pydantic's behaviour (code that reads settings data as data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError

from wds_edge.errors import InvalidInputError, describe_validation_error

__all__ = ["Settings"]


class Settings(BaseModel):
    """A settings model (see the module docstring); ``_settings_name`` names it in errors."""

    _settings_name: ClassVar[str] = "settings"

    if not TYPE_CHECKING:  # type checkers and IDEs keep pydantic's signature (the fields)

        def __init__(self, /, **data: Any) -> None:
            try:
                super().__init__(**data)
            except ValidationError as exc:
                what = type(self)._settings_name
                raise InvalidInputError(describe_validation_error(exc, what)) from None
