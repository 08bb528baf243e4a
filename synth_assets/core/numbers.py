"""Booleans are not numbers: `limit: true` is a mistake, never limit 1.

pydantic (like Python) takes `True` for the int 1 and the float 1.0; models that users write inherit
`NoBoolNumbers`, which refuses a boolean for every field that takes numbers but no booleans.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Any

from pydantic import BaseModel, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError


@functools.lru_cache(maxsize=None)
def wants_number_not_bool(annotation: Any) -> bool:
    """The annotation takes an int or float (alone, optional or in a union) and no bool (nor Any)."""
    found: set[Any] = set()

    def walk(a: Any) -> None:
        origin = typing.get_origin(a)
        if origin is typing.Annotated:
            return walk(typing.get_args(a)[0])
        if origin in (typing.Union, types.UnionType):
            for arg in typing.get_args(a):
                walk(arg)
            return
        found.add(origin or a)

    walk(annotation)
    return bool(found & {int, float}) and not found & {bool, Any, object}


class NoBoolNumbers(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        wrong = [InitErrorDetails(type=PydanticCustomError(
                     "bool_not_number", "expected a number, got the boolean {value} (YAML reads true/false/yes/no/on/off as "
                     "booleans): write the number", {"value": str(value).lower()}), loc=(key,), input=value)
                 for key, value in data.items()
                 if isinstance(value, bool) and key in cls.model_fields and wants_number_not_bool(cls.model_fields[key].annotation)]
        if wrong:  # raised with each field's location, so errors name the field (and its line)
            raise ValidationError.from_exception_data(cls.__name__, wrong)
        return data

