"""A method's loss-weight search space, as declared in ``bench/configs/methods/<name>.yaml``::

    search_space:
      lambda_cycle: {low: 1.0, high: 30.0, log: true}   # float, log-uniform
      n_res: {low: 2, high: 6, int: true}               # integer
      norm: {choices: [instance, batch]}                # categorical

Names are paths inside the method's parameters (``losses.cycle`` for nested ones). A trial's values reach the run as
``++methods.<label>.override.<name>=<value>``, which wins over ``params`` and the scale's preset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import BenchError


@dataclass(frozen=True)
class Dimension:
    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    def suggest(self, trial: Any) -> Any:
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log, step=self.step)


class SearchSpace:
    def __init__(self, dimensions: list[Dimension], source: str = "") -> None:
        self.dimensions = dimensions
        self.source = source

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @classmethod
    def from_config(cls, spec: Mapping[str, Any] | None, source: str) -> SearchSpace:
        """Validate ``spec`` and say exactly which entry is wrong and how to write it."""
        example = "search_space: {lambda_cycle: {low: 1.0, high: 30.0, log: true}}"
        if not spec:
            raise BenchError(f"{source} declares no search_space", hint=f"add e.g. `{example}` to it, or pass "
                             "search_space='{name: {low: .., high: ..}}' to bench tune")
        dims = []
        for name, entry in spec.items():
            where = f"search_space.{name} in {source}"
            if not isinstance(entry, Mapping):
                raise BenchError(f"{where} must be a mapping, got {entry!r}", hint=f"write it like `{example}`")
            unknown = set(entry) - {"low", "high", "log", "int", "step", "choices"}
            if unknown:
                raise BenchError(f"{where} has unknown keys {sorted(unknown)}",
                                 hint="allowed: low, high, log, int, step, choices")
            if "choices" in entry:
                choices = tuple(entry["choices"] or ())
                if not choices:
                    raise BenchError(f"{where}: choices is empty", hint="list at least one value")
                dims.append(Dimension(str(name), choices=choices))
                continue
            if "low" not in entry or "high" not in entry:
                raise BenchError(f"{where} needs both low and high", hint=f"write it like `{example}`")
            low, high = float(entry["low"]), float(entry["high"])
            log = bool(entry.get("log", False))
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise BenchError(f"{where}: need finite low < high, got low={low}, high={high}")
            if log and low <= 0:
                raise BenchError(f"{where}: a log range needs low > 0, got {low}", hint="raise low or set log: false")
            step = entry.get("step")
            if log and step is not None:
                raise BenchError(f"{where}: step and log cannot be combined (Optuna)", hint="drop one of them")
            dims.append(Dimension(str(name), low, high, log, bool(entry.get("int", False)),
                                  None if step is None else float(step)))
        return cls(dims, source)

    def suggest(self, trial: Any) -> dict[str, Any]:
        return {d.name: d.suggest(trial) for d in self.dimensions}

    @staticmethod
    def overrides(method: str, params: Mapping[str, Any]) -> list[str]:
        """Hydra overrides that put ``params`` into the run of method ``method`` whatever its scale preset says."""
        return [f"++methods.{method}.override.{name}={literal(value)}" for name, value in params.items()]


def literal(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)  # full precision: the run must use exactly the trial's value
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    return str(value)
