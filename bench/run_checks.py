"""The checks ``bench run`` makes before any data is built or folder made: method parameters (names and value
types) and whether the protocol serves any selected method."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from bench.config import method_class
from core.errors import BenchError
from methods import METHODS
from methods.common.params import resolve_params
from protocols import PROTOCOLS


def check_method_params(cfg: DictConfig) -> None:
    """Resolve every selected method's parameters (under each of its per-dataset overlays) against the names its
    class declares (``Method.defaults``) and check their values (``Method.check_params``); raises ``BenchError``
    naming an unknown name (valid names as the hint) or a wrong value (the valid values in the message). Needs no
    data."""
    from bench.runner import run_method_params  # the runner imports this module

    for label, mcfg in cfg.methods.items():
        method_cls = METHODS.get(method_class(str(label), mcfg))
        if method_cls.defaults is not None:
            for dataset in [None, *(mcfg.get("datasets") or {})]:
                params = resolve_params(str(label), method_cls.defaults, run_method_params(mcfg, cfg, dataset=dataset))
                try:
                    method_cls.check_params(params)
                except (TypeError, ValueError) as exc:  # a value of the wrong type (K=4 for a list, "abc" for int)
                    wrong = [f"{k}={v!r} (default {method_cls.defaults[k]!r})" for k, v in params.items()
                             if _kind(v) != _kind(method_cls.defaults.get(k, v))]
                    raise BenchError(f"a parameter of {label} has a value of the wrong type: "
                                     f"{'; '.join(wrong) or exc}",
                                     hint="give it the default's type (a list as [a,b,...], a number unquoted)"
                                     ) from None


def _kind(value: Any) -> str:
    """The type family a parameter value belongs to, for the wrong-type message (None matches anything)."""
    if value is None:
        return "any"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "list" if isinstance(value, list | tuple) else type(value).__name__


def check_any_served(cfg: DictConfig) -> None:
    """Raise ``BenchError`` when the protocol refuses every selected method (``Protocol.refusal``, a check of
    capabilities that needs no data): one line per method with the reason, before any data is built. When some
    method can run, the refused ones get their REFUSED rows as usual."""
    protocol_cls = PROTOCOLS.get(cfg.protocol.name)
    reasons = {str(label): protocol_cls.refusal(METHODS.get(method_class(str(label), mcfg)))
               for label, mcfg in cfg.methods.items()}
    if reasons and all(reasons.values()):
        lines = "".join(f"\n  {label}: refused, {reason}" for label, reason in reasons.items())
        raise BenchError(f"protocol {cfg.protocol.name} refuses every selected method; nothing to run:{lines}",
                         hint="choose methods the protocol serves: see the compatibility table of "
                              "`python -m bench list --no-counts`")
