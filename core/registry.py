"""A small string-keyed registry (timm's ``register_model``/``list_models`` pattern).

Each concern (methods, protocols, metrics, datasets, feature extractors) owns one ``Registry``. Entries register
themselves with a decorator where they are defined; ``discover`` imports every sub-module of a package so that adding a
folder is enough to register a new entry. A registered class takes its name from the decorator alone: the registry
sets it as the class attribute ``attribute`` (``name`` for metrics and protocols, ``registry_name`` for methods), and
refuses a class that sets that attribute itself, so a name is said once.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import pkgutil
import weakref
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from core.errors import BenchError

T = TypeVar("T")
# Classes a registry has named (class → the name it set), so registering one again (tests do) is no second naming.
_NAMED: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


class UnknownNameError(BenchError, KeyError):
    """Raised for a name no entry is registered under; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.args[0] if self.args else ""


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str | None = None, attribute: str = "registry_name") -> None:
        self.kind = kind
        self._package = package
        self.attribute = attribute
        self._entries: dict[str, T] = {}
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise BenchError(f"{self.kind} {name!r} is registered twice ({self._entries[name]!r} and {obj!r})")
            if isinstance(obj, type) and self.attribute in vars(obj) and _NAMED.get(obj) != vars(obj)[self.attribute]:
                raise BenchError(f"{self.kind} {name!r}: {obj.__qualname__} sets {self.attribute!r} itself",
                                 hint=f"remove it; @register({name!r}) names the class")
            self._entries[name] = obj
            with contextlib.suppress(AttributeError, TypeError):  # e.g. a plain function with slots
                setattr(obj, self.attribute, name)
                if isinstance(obj, type):
                    _NAMED[obj] = name
            return obj

        return decorator

    def discover(self) -> None:
        """Import every sub-module of the registry's package once, so their decorators run."""
        if self._discovered or self._package is None:
            return
        self._discovered = True
        package = importlib.import_module(self._package)
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{self._package}."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            importlib.import_module(info.name)

    def get(self, name: str) -> T:
        self.discover()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}; valid {self.kind}s: {', '.join(self.names()) or '(none)'}"
                + (f"; did you mean {close[0]!r}?" if close else "")
            )
        return self._entries[name]

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self.discover()
        for name in sorted(self._entries):
            yield name, self._entries[name]

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries
