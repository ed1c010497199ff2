"""Command-line ``key=value`` strings typed by what their receiver declares, not by YAML rules.

YAML typing turns ``lpips.lpips_version=0.1`` into the float 0.1 (refused: the versions are the strings "0.1" and
"0.0") and a folder named ``0100`` into the octal number 64. Here a value is converted to the type annotated on the
constructor parameter it is passed to (``annotation_of``), so a ``str`` stays as written: ``typed("0100", str)`` is
"0100", ``typed("0.1", str)`` is "0.1", ``typed("7", int)`` is 7.
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

from core.errors import BenchError

NULLS = {"null", "none", "~"}
TRUE, FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
UNDECLARED = object()
"""``annotation_of``'s answer for a key passed on through ``**kwargs`` to something it cannot see."""


def split_list(raw: str) -> list[str]:
    """``[a, b]`` or ``a,b`` → ["a", "b"] (items stripped of spaces and quotes; ``[]`` → [])."""
    inner = raw.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    return [item.strip().strip("'\"") for item in inner.split(",") if item.strip()]


def _scalar(raw: str, kind: type, key: str) -> Any:
    text = raw.strip()
    if kind is bool:
        if text.lower() in TRUE | FALSE:
            return text.lower() in TRUE
        raise BenchError(f"{key}={raw}: expected true or false", hint=f"{key}=true or {key}=false")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise BenchError(f"{key}={raw}: expected {'an integer' if kind is int else 'a number'}",
                             hint=f"e.g. {key}={7 if kind is int else 0.5}") from None
    if kind in (str, Path):
        return raw  # as written: a folder named 0100 stays "0100", a version 0.1 stays "0.1"
    raise BenchError(f"{key} takes a {getattr(kind, '__name__', kind)}, which cannot be given on the command line",
                     hint=f"leave {key} out of the command line")


def typed(raw: str, annotation: Any, key: str) -> Any:
    """``raw`` converted to ``annotation`` (str/Path as written, int, float, bool, Literal, X | None, unions,
    tuple[X, ...] / list[X] from ``[a,b]``); ``UNDECLARED`` or ``Any`` → YAML typing. ``BenchError`` names
    ``key`` and the expected form when ``raw`` does not fit."""
    if annotation is UNDECLARED or annotation is Any or annotation is inspect.Parameter.empty:
        return _yaml(raw, key)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        for choice in args:
            if str(choice) == raw.strip():
                return choice
        raise BenchError(f"{key}={raw}: expected one of {', '.join(map(str, args))}")
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) < len(args) and raw.strip().lower() in NULLS:
            return None
        if str in members or Path in members:
            return raw
        errors = []
        for member in members:
            try:
                return typed(raw, member, key)
            except BenchError as exc:
                errors.append(exc)
        raise errors[0]
    if origin in (tuple, list):
        item = args[0] if args else Any
        values = [typed(v, item, key) for v in split_list(raw)]
        return tuple(values) if origin is tuple else values
    return _scalar(raw, annotation, key)


def _yaml(raw: str, key: str) -> Any:
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(OmegaConf.from_dotlist([f"value={raw}"]))["value"]  # type: ignore[index]
    except OmegaConfBaseException as exc:
        raise BenchError(f"cannot parse {key}={raw}: {exc}") from exc


def _hints(function: Any) -> dict[str, Any]:
    """The resolved annotations of ``function``; ones that cannot be resolved (names imported for type checking
    only) are left out, so their parameters fall back to YAML typing."""
    try:
        return typing.get_type_hints(function)
    except (NameError, TypeError):
        hints = {}
        for name, text in getattr(function, "__annotations__", {}).items():
            try:
                # the project's own annotation text, evaluated where the function was defined
                hints[name] = eval(text, function.__globals__) if isinstance(text, str) else text
            except (NameError, TypeError, AttributeError, SyntaxError):
                continue
        return hints


def annotation_of(cls: type, key: str) -> Any:
    """The annotation of constructor argument ``key`` along ``cls``'s ``__init__`` chain (``**kwargs`` pass on to the
    base class); ``UNDECLARED`` when it ends in ``**kwargs`` the chain cannot follow; ``None`` when ``cls`` does
    not accept ``key``."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if key in params:
            return _hints(init).get(key, UNDECLARED)
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return None
    return UNDECLARED


def options_of(cls: type) -> list[str]:
    """Constructor arguments along ``cls``'s ``__init__`` chain (for the hint of an unknown option)."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = inspect.signature(init).parameters
        names += [n for n, p in params.items() if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
                  and n not in names]
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            break
    return names
