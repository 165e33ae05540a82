"""Option values made Python values without pydantic, for the values people type.

typer 0.29 turns every option's text into its value through a pydantic TypeAdapter: importing
pydantic and building the adapters took 0.1 s of a 0.4 s ``fitbp predict 1.5``, more than
fitbp's own work.  fitbp's options are strs, ints, floats, choices and lists of strs, whose
well-formed values need no schema, so each command gives typer a coercion of its own for them.
Whatever it does not recognise at a glance (a malformed number, a choice in another case, a
value out of range, a type it does not know) goes to typer's own coercion, built then: the
values and the error messages stay typer's, word for word (tests/test_cli_coercion.py holds
the two side by side).  A typer without the hook used here takes its own path everywhere:
slower, never different.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import get_args, get_origin

_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_UNUSUAL = object()


def install(params):
    """Give each typer parameter of ``params`` the quick coercion, where typer has not built its own."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", _UNUSUAL) is None:
            param._runtime_param = Quick(_converter(descriptor.annotation, descriptor.parameter_info))


class Quick:
    """typer's coercion contract (``coerce``), answering the plain cases and handing on the rest."""

    def __init__(self, convert):
        self.convert = convert

    def coerce(self, value, param, ctx):
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        converted = self.convert(value) if self.convert else _UNUSUAL
        if converted is _UNUSUAL:
            param._runtime_param = None  # typer builds its own now, and answers as it always would
            return param.get_runtime_param().coerce(value, param=param, ctx=ctx)
        return converted


def _converter(annotation, info):
    """The quick conversion for ``annotation``, or None where only typer's own will do."""
    if info.parser is not None or getattr(info, "clamp", False):
        return None
    if annotation in (bool, str):
        return _instance(annotation)
    if annotation in (int, float):
        return _number(annotation, info.min, info.max)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _choice(annotation)
    if get_origin(annotation) in (list, tuple) and all(arg is str for arg in get_args(annotation)):
        return _texts(get_origin(annotation), len(get_args(annotation)))
    return None


def _instance(kind):
    """A value that already is a ``kind`` (a flag's bool, an argument's str) is itself."""
    return lambda value: value if isinstance(value, kind) else _UNUSUAL


def _choice(choices):
    """A member of the enum ``choices``, named exactly as the help lists it."""
    by_name = {str(member.value): member for member in choices}

    def convert(value):
        if isinstance(value, choices):
            return value
        return by_name.get(value, _UNUSUAL) if isinstance(value, str) else _UNUSUAL
    return convert


def _texts(kind, arity):
    """A list of strs (any number), or a tuple of ``arity`` strs."""
    def convert(value):
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            return _UNUSUAL
        return kind(value) if kind is list or len(value) == arity else _UNUSUAL
    return convert


def _number(kind, low, high):
    """int or float from a well-formed literal within [low, high]; anything else is typer's to judge."""
    pattern = _INTEGER if kind is int else _DECIMAL

    def convert(value):
        if isinstance(value, str) and pattern.fullmatch(value):
            number = kind(value)
        elif type(value) is kind:
            number = value
        else:
            return _UNUSUAL
        if (low is not None and number < low) or (high is not None and number > high):
            return _UNUSUAL
        return number
    return convert
