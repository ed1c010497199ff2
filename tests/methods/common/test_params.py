"""One way to declare and resolve parameters (``Method.defaults`` + ``methods.common.params.resolve_params``) and
the schedules every method shares."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from core.errors import BenchError
from methods import METHODS, create_method, list_methods
from methods.base import Capabilities, Method
from methods.common.params import resolve_params
from methods.common.schedules import inverse_time_decay, linear_decay


class _Declared(Method):
    capabilities = Capabilities(training="none", guidance="none")
    registry_name = "declared"
    defaults: ClassVar[dict[str, Any]] = {"steps": 10, "lr": 0.1}

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return content


def test_resolve_params_fills_defaults_and_names_unknown_ones() -> None:
    assert resolve_params("m", {"a": 1, "b": 2}, {"b": 3}) == {"a": 1, "b": 3}
    with pytest.raises(BenchError, match=r"unknown m parameters \['c'\]") as info:
        resolve_params("m", {"a": 1, "b": 2}, {"c": 0})
    assert info.value.hint == "valid parameters: a, b"


def test_a_method_resolves_its_declared_defaults() -> None:
    assert _Declared(lr=0.5).params == {"steps": 10, "lr": 0.5}
    with pytest.raises(BenchError, match="unknown declared parameters"):
        _Declared(step=3)


@pytest.mark.parametrize("name", [n for n in list_methods() if METHODS.get(n).capabilities.training != "none"])
def test_every_learned_method_declares_its_parameters(name: str) -> None:
    # (the reference methods take no parameters and keep ``defaults = None``: `bench tune`'s own test drives
    # input_copy with a throwaway parameter)
    assert isinstance(METHODS.get(name).defaults, dict), f"{name} declares no ``defaults``"
    with pytest.raises(BenchError, match=f"unknown {name} parameters"):
        create_method(name, no_such_parameter=1)


def _lrs(scheduler_of: Any, steps: int) -> list[float]:
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = scheduler_of(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_linear_decay_gives_the_learning_rates_of_the_replaced_total_steps_variant() -> None:
    # pix2pix/BicycleGAN/SPADE passed (steps=6, decay_steps=4) to the removed ``linear_decay(opt, steps, decay)``;
    # these are its learning rates: constant for 2 steps, then 1 - t/(decay + 1)
    assert _lrs(lambda o: linear_decay(o, 6 - 4, 4), 7) == pytest.approx([1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2])


def test_inverse_time_decay_is_torch7s_learning_rate_decay() -> None:
    assert _lrs(lambda o: inverse_time_decay(o, 0.5), 4) == pytest.approx([1.0, 1 / 1.5, 1 / 2.0, 1 / 2.5])
