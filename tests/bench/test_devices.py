"""``device=``, ``loader.*`` and ``precision=`` of ``bench run`` (``bench.devices``)."""

from __future__ import annotations

import pytest
import torch

from bench.devices import MAX_AUTO_WORKERS, auto_workers, resolve_hardware, usable_cpus
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


@pytest.mark.parametrize(("granted", "local_ranks", "cpus", "gpu_workers"), [
    (range(64), None, 64, MAX_AUTO_WORKERS),  # a whole node
    (range(3), None, 3, 2),  # SLURM --cpus-per-task=3 on a 64-core node: the mask, not os.cpu_count()
    (range(16), "8", 2, 1),  # 8 torchrun ranks share 16 CPUs
    (range(2), "4", 1, 0),  # more ranks than CPUs: at least one CPU, no workers
])
def test_auto_workers_count_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch, granted: range,
                                                         local_ranks: str | None, cpus: int, gpu_workers: int) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(granted), raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    if local_ranks is None:
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", local_ranks)
    assert usable_cpus() == cpus
    assert (auto_workers(on_gpu=True), auto_workers(on_gpu=False)) == (gpu_workers, 0)


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


def test_bf16_runs_have_their_own_config_key_and_fp32_keys_do_not_change(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bench.config import compose_run
    from bench.runner import _MethodRun, build_protocol, method_config_key
    from core.hashing import settings_hash

    keys = {}
    for precision in ("fp32", "bf16"):
        cfg = compose_run([f"paths.results={tmp_path}", "methods=[adain]", f"precision={precision}"])
        protocol = build_protocol(cfg)
        protocol.prepare()
        mrun = _MethodRun("adain", cfg.methods.adain, cfg, protocol, {"protocol_hash": protocol.protocol_hash()})
        params, keys[precision] = method_config_key(mrun)
    assert keys["bf16"] != keys["fp32"]  # a bf16 run never resumes or skips an fp32 one
    assert keys["fp32"] == settings_hash({"method": "adain", "params": params, "protocol": protocol.protocol_hash(),
                                          "seed": 0})  # the key every fp32 checkpoint folder already has
