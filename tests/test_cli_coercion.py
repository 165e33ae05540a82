"""fitbp.cli.coercion answers as typer's own coercion does, value for value and error for error.

typer's pydantic coercion is the independent answer: every option of every command, given the
values people type and the ones they mistype, must come out the same through both.
"""

import enum

import pytest
import typer.main

from fitbp.cli import app, coercion

_coercion = pytest.importorskip("typer._coercion", reason="a typer without pydantic coercion: nothing to match")
build_runtime_param = _coercion.build_runtime_param
Context = _coercion.Context

TEXTS = {
    int: ["3", "0", "-2", "007", "+5", "1.0", "3.5", "1e3", "x", "", " 4", "99999999999999999999", "-0"],
    float: ["0.95", "1", "-1e3", ".5", "5.", "1E-3", "+2.5", "inf", "nan", "-inf", "1_000", "x", "", " 2",
            "0x10", "1e", "1.5e+2"],
    str: ["abc", "", "-", "ünï", "1"],
    bool: [True, False],
}


def _parameters():
    group = typer.main.get_command(app)
    context = Context(group)
    yield "fitbp", group, context, group.get_params(context)
    for name, command in group.commands.items():
        context = Context(command, parent=Context(group))
        yield name, command, context, command.get_params(context)


def _samples(annotation, default):
    values = [default] if default is not None else []
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        for member in annotation:
            values += [member, str(member.value), str(member.value).upper(), str(member.value) + " "]
        return values + ["nonsense", ""]
    if annotation in TEXTS:
        return values + TEXTS[annotation]
    return values + [("a", "b"), ["a"], (), ("a",), ("a", "b", "c"), "a"]  # lists and pairs of str


def _outcome(runtime, value, param, context):
    try:
        result = runtime.coerce(value, param=param, ctx=context)
    except Exception as e:  # the kind and the words must match too
        return ("raised", type(e).__name__, str(e))
    return ("value", type(result), repr(result))  # repr: nan is nan


CASES = [(name, param) for name, _, _, params in _parameters() for param in params
         if getattr(param, "type_descriptor", None) is not None]


def test_every_kind_of_option_is_covered():
    """The samples above cover each annotation fitbp uses; a new kind of option must be added there."""
    kinds = {param.type_descriptor.annotation for _, param in CASES}
    assert {int, float, str, bool} <= kinds
    unknown = [k for k in kinds if k not in TEXTS and not (isinstance(k, type) and issubclass(k, enum.Enum))
               and getattr(k, "__origin__", None) not in (list, tuple)]
    assert not unknown


@pytest.mark.parametrize("name, param", CASES, ids=[f"{n}-{p.name}" for n, p in CASES])
def test_quick_coercion_equals_typers(name, param):
    contexts = {n: c for n, _, c, _ in _parameters()}
    context = contexts[name]
    descriptor = param.type_descriptor
    for value in _samples(descriptor.annotation, param.default if not callable(param.default) else None):
        param._runtime_param = None  # a fallback below leaves typer's own in place
        coercion.install([param])
        quick = _outcome(param._runtime_param, value, param, context)
        own = _outcome(build_runtime_param(descriptor), value, param, context)
        assert quick == own, (value, quick, own)


def test_well_formed_values_never_build_typers_coercion():
    """The point of the module: the values people type need no pydantic adapter."""
    group = typer.main.get_command(app)
    command = group.commands["fit"]
    context = Context(command, parent=Context(group))
    params = {p.name: p for p in command.get_params(context)}
    coercion.install(params.values())
    for name, value in [("degree", "5"), ("loss", "huber"), ("level", "0.9"), ("data", ("a.csv",))]:
        params[name].get_runtime_param().coerce(value, param=params[name], ctx=context)
        assert isinstance(params[name]._runtime_param, coercion.Quick), name
