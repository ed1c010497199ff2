"""``device=``, ``loader.*`` and ``precision=`` of ``bench run`` (``bench.devices``)."""

from __future__ import annotations

import pytest
import torch

from bench.devices import MAX_AUTO_WORKERS, resolve_hardware
from core.errors import BenchError


def test_auto_keeps_cpu_runs_in_process_and_unpinned() -> None:
    hardware = resolve_hardware("cpu")
    assert (hardware.loader_workers, hardware.pin_memory, hardware.precision) == (0, False, "fp32")
    assert hardware.describe() == ""  # the default adds nothing to a results table
    assert hardware.params()["hardware.device"] == "cpu" and hardware.params()["hardware.processes"] == 1


def test_explicit_settings_are_kept_and_recorded() -> None:
    hardware = resolve_hardware("cpu", "3", True, "bf16")
    assert (hardware.loader_workers, hardware.pin_memory, hardware.precision) == (3, True, "bf16")
    assert hardware.params()["hardware.precision"] == "bf16"
    assert "bf16" in hardware.describe()  # a bf16 table says so in its header


def test_bf16_trains_under_autocast_and_fp32_does_not() -> None:
    with resolve_hardware("cpu", precision="bf16").autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with resolve_hardware("cpu").autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here: the GPU defaults cannot be resolved")
def test_auto_uses_workers_and_pinned_memory_on_a_gpu() -> None:
    hardware = resolve_hardware("cuda")
    assert hardware.pin_memory and 0 <= hardware.loader_workers <= MAX_AUTO_WORKERS


@pytest.mark.parametrize("args, message", [
    (("tpu",), "is not a torch device"),
    (("cpu", "-1"), "is not a number of processes"),
    (("cpu", "many"), "is not a number of processes"),
    (("cpu", 0, "sometimes"), "is not true, false or auto"),
    (("cpu", 0, False, "fp16"), "needs loss scaling"),
    (("cpu", 0, False, "fp8"), "unknown precision 'fp8'"),
])
def test_bad_settings_are_one_line_errors(args: tuple, message: str) -> None:
    with pytest.raises(BenchError, match=message):
        resolve_hardware(*args)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is visible here")
def test_cuda_without_a_gpu_names_the_fix() -> None:
    with pytest.raises(BenchError, match="sees no CUDA GPU") as info:
        resolve_hardware("cuda")
    assert "device=cpu" in info.value.hint
