"""The checks ``bench run`` makes before any data is built or folder made: method parameters (names and value
types) and whether the protocol serves any selected method."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from bench.config import method_class
from core.errors import BenchError, NoRecipeError
from methods import METHODS
from methods.common.params import resolve_params
from protocols import PROTOCOLS


def check_method_params(cfg: DictConfig) -> dict[str, str]:
    """Resolve every selected method's parameters (under each of its per-dataset overlays, and under the protocol's
    data-free facts, ``Protocol.data_free_method_settings``) against the names its class declares
    (``Method.defaults``) and check their values (``Method.check_params``); raises ``BenchError`` naming an unknown
    name (valid names as the hint) or a wrong value (the valid values in the message). Needs no data.

    Returns ``{label: reason}`` for the methods that have no recipe for this protocol's data (``NoRecipeError``,
    e.g. EGSC-IT without a Table-6 row for it): ``bench run`` refuses those as it refuses a capability mismatch."""
    from bench.runner import run_method_params  # the runner imports this module

    facts = PROTOCOLS.get(cfg.protocol.name).data_free_method_settings()
    refused = {}
    for label, mcfg in cfg.methods.items():
        method_cls = METHODS.get(method_class(str(label), mcfg))
        if method_cls.defaults is None:
            continue
        settings: list[dict[str, Any]] = [{"dataset": d} for d in [None, *(mcfg.get("datasets") or {})]]
        for setting in [facts, *settings]:
            params = resolve_params(str(label), method_cls.defaults,
                                    run_method_params(mcfg, cfg, settings=setting, declared=method_cls.defaults,
                                                      dataset=setting.get("dataset")))
            try:
                method_cls.check_params(params)
            except NoRecipeError as exc:
                if setting is not facts:  # an overlay this protocol does not select: not this run's concern
                    continue
                message = str(exc.args[0]).removeprefix(f"{method_cls.registry_name}: ")
                refused[str(label)] = (f"has no recipe for this protocol's data: {message}"
                                       + (f" (fix: {exc.hint})" if exc.hint else ""))
                break
            except (TypeError, ValueError) as exc:  # a value of the wrong type (K=4 for a list, "abc" for int)
                wrong = [f"{k}={v!r} (default {method_cls.defaults[k]!r})" for k, v in params.items()
                         if _kind(v) != _kind(method_cls.defaults.get(k, v))]
                raise BenchError(f"a parameter of {label} has a value of the wrong type: "
                                 f"{'; '.join(wrong) or exc}",
                                 hint="give it the default's type (a list as [a,b,...], a number unquoted)"
                                 ) from None
    return refused


def _kind(value: Any) -> str:
    """The type family a parameter value belongs to, for the wrong-type message (None matches anything)."""
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "list" if isinstance(value, list | tuple) else type(value).__name__


def refusals(cfg: DictConfig, no_recipe: dict[str, str]) -> dict[str, str | None]:
    """``{label: reason or None}`` for every selected method: the protocol's capability check
    (``Protocol.refusal``), else the recipe refusal found by ``check_method_params`` (``no_recipe``)."""
    protocol_cls = PROTOCOLS.get(cfg.protocol.name)
    return {str(label): protocol_cls.refusal(METHODS.get(method_class(str(label), mcfg))) or no_recipe.get(str(label))
            for label, mcfg in cfg.methods.items()}


def check_any_served(cfg: DictConfig, no_recipe: dict[str, str] | None = None) -> dict[str, str | None]:
    """Raise ``BenchError`` when the protocol refuses every selected method (``refusals``: capabilities, and the
    recipe refusals of ``check_method_params``; neither needs data): one line per method with the reason, before
    any data is built. When some method can run, the refused ones get their REFUSED rows as usual. Returns
    ``refusals``."""
    reasons = refusals(cfg, no_recipe or {})
    if reasons and all(reasons.values()):
        lines = "".join(f"\n  {label}: refused, {reason}" for label, reason in reasons.items())
        raise BenchError(f"protocol {cfg.protocol.name} refuses every selected method; nothing to run:{lines}",
                         hint="choose methods the protocol serves: see the compatibility table of "
                              "`python -m bench list --no-counts`")
    return reasons


def recipe_refusals(protocol: str, methods: list[str], scale: str = "smoke") -> dict[str, str]:
    """``{method config: reason}`` for the ``methods`` whose parameters have no recipe for the protocol's data
    (``check_method_params`` on the composed run config: what ``bench run`` refuses before building data); one
    composition per protocol."""
    from bench.config import compose_run

    if not methods:
        return {}
    return check_method_params(compose_run([f"protocol={protocol}", f"methods=[{','.join(methods)}]",
                                            f"scale={scale}"]))
