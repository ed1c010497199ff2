"""Contract tests for every registered method (present and future), parametrised over the method registry.

Each method is built from its ``bench/configs/methods/<name>.yaml`` at the ``smoke`` preset and fed toy 28×28 data
shaped by its capabilities: unpaired domains A (binary) and B (colour), or pairs a[i]→b[i] for
``training="paired"``, with A's label maps (and label maps as the content to translate) for ``needs_label_maps``.
``training="single_image"`` methods get one toy case (contract §1: a source image, its layout and a target layout).
Learned methods (capabilities ``training != "none"``) also declare in that config, under ``tests``:

- ``overfit_losses``: logged losses (keys of the ``TrainLoop`` history) that must fall when fitting a tiny batch;
- ``nan_overrides``: parameters (over ``smoke``) that make training produce NaN/inf, e.g. ``{lr: 1.0e+30}``;

and accept the ``steps`` and ``checkpoint_every`` parameters that drive their ``TrainLoop``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from omegaconf import OmegaConf

from bench.config import method_class
from core.errors import MissingWeightsError, NonFiniteError
from methods import METHODS, create_method, list_methods
from methods.base import FitContext, Method
from methods.training import CHECKPOINT_NAME
from tests.methods.conftest import (
    method_config,
    preset_params,
    toy_domains,
    toy_labels,
    toy_single_image_data,
    toy_train_data,
)

NAMES = list_methods()
SIZE = 28


def is_learned(name: str) -> bool:
    return METHODS.get(name).capabilities.training != "none"


def require_learned(name: str) -> None:
    if not is_learned(name):
        pytest.skip(f"{name} is not learned (capabilities.training='none'): nothing to fit")


def build(name: str, **overrides: Any) -> Method:
    return create_method(method_class(name, method_config(name)), **preset_params(name, "smoke", **overrides))


def fit(method: Method, workdir: Path, seed: int = 0, log: Any = None, workers: int = 0) -> list[dict[str, float]]:
    caps = method.capabilities  # paired methods get a[i]→b[i] pairs; label-map methods get A's label maps;
    if caps.training == "single_image":  # single-image methods one toy case (contract §1)
        data = toy_single_image_data(SIZE)
    else:
        data = toy_train_data(2, SIZE, kind="paired" if caps.training == "paired" else "unpaired",
                              label_maps=caps.needs_label_maps)
    method.fit(data, FitContext(workdir=workdir, seed=seed, progress=False, log_metrics=log, loader_workers=workers))
    checkpoint = workdir / CHECKPOINT_NAME
    assert checkpoint.exists(), "fit must use methods.training.TrainLoop (it writes the last checkpoint)"
    return torch.load(checkpoint, weights_only=False)["history"]


_FITTED: dict[str, tuple[Method, list[dict[str, float]]]] = {}


@pytest.fixture
def fitted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``fitted(name)`` → (method fitted at smoke on the toy data, its TrainLoop history); fitted once per session."""

    def get(name: str) -> tuple[Method, list[dict[str, float]]]:
        if name not in _FITTED:
            method = build(name)
            history = fit(method, tmp_path_factory.mktemp(f"fit-{name}")) if is_learned(name) else []
            _FITTED[name] = (method, history)
        return _FITTED[name]

    return get


def directions(name: str) -> list[str]:
    return ["AB", "BA"] if METHODS.get(name).capabilities.directions == "both" else ["AB"]


def inputs(direction: str, n: int = 2, seed: int = 1, name: str = ""
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(content, exemplar, another exemplar) for a direction: content from the source domain (its label map for
    methods that need label maps), exemplars from the target domain."""
    a, b = toy_domains(2 * n, SIZE, seed)
    source, target = (a, b) if direction == "AB" else (b, a)
    content = toy_labels(source[:n]) if name and METHODS.get(name).capabilities.needs_label_maps else source[:n]
    return content, target[:n], target[n:]


def run(method: Method, content: torch.Tensor, exemplar: torch.Tensor, direction: str = "AB", seed: int = 0
        ) -> torch.Tensor:
    """``method.translate``, also passing the exemplar's label map to methods that need it (contract §1) and, to
    methods that need the image behind the content (contract §2), a stand-in for it: the content in grey."""
    extra = {"exemplar_labels": toy_labels(exemplar)} if method.capabilities.needs_exemplar_labels else {}
    if method.capabilities.needs_target_image:
        grey = content.float() if content.dim() == 4 else content.float().unsqueeze(1)
        extra["target_image"] = grey.mean(1, keepdim=True).expand(-1, 3, -1, -1)
    return method.translate(content, exemplar, direction=direction, seed=seed, **extra)  # type: ignore[arg-type]


def image_shape(content: torch.Tensor) -> tuple[int, ...]:
    return (content.size(0), 3, *content.shape[-2:])


@pytest.mark.parametrize("name", NAMES)
def test_config_declares_the_presets(name: str) -> None:
    cfg = method_config(name)
    assert method_class(name, cfg) == name
    assert {"smoke", "cpu", "paper"} <= set(cfg.presets), "configs need smoke, cpu and paper presets"
    for preset, values in cfg.presets.items():
        extra = set(values or {}) - set(cfg.params)
        assert not extra, f"preset {preset} sets {sorted(extra)}, which are not in params (typo?)"
    for weight in cfg.get("search_space", {}) or {}:
        assert weight in cfg.params, f"search_space names {weight!r}, which is not a parameter"
    if is_learned(name):
        assert cfg.tests.overfit_losses, "learned methods list tests.overfit_losses"
        assert cfg.tests.nan_overrides, "learned methods give tests.nan_overrides"
        assert {"steps", "checkpoint_every"} <= set(cfg.params)
    build(name)  # every preset's parameters are accepted
    for preset in ("cpu", "paper"):
        try:
            create_method(name, **preset_params(name, preset))
        except MissingWeightsError:  # a correct refusal here; the parameters must still be valid (as `bench list`)
            create_method(name, **preset_params(name, preset, allow_uncalibrated=True))


@pytest.mark.parametrize("name", NAMES)
def test_translate_shapes_and_range(name: str, fitted: Any) -> None:
    method, _ = fitted(name)
    for direction in directions(name):
        content, exemplar, _ = inputs(direction, name=name)
        out = run(method, content, exemplar, direction, 0)
        assert out.shape == image_shape(content) and out.dtype == torch.float32
        assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", NAMES)
def test_loss_falls_when_overfitting_a_tiny_batch(name: str, fitted: Any) -> None:
    require_learned(name)
    _, history = fitted(name)
    keys = list(method_config(name).tests.overfit_losses)
    missing = [k for k in keys if k not in history[0]]
    assert not missing, f"losses {missing} are not logged; logged: {sorted(history[0])}"
    total = [sum(row[k] for k in keys) for row in history]
    k = max(1, len(total) // 5)
    first, last = sum(total[:k]) / k, sum(total[-k:]) / k
    assert last < 0.8 * first, f"{'+'.join(keys)} went from {first:.4g} to {last:.4g} over {len(total)} steps"


@pytest.mark.parametrize("name", NAMES)
def test_exemplar_use_matches_the_declared_guidance(name: str, fitted: Any) -> None:
    method, _ = fitted(name)
    guidance = METHODS.get(name).capabilities.guidance
    for direction in directions(name):
        content, ex1, ex2 = inputs(direction, name=name)
        out1 = run(method, content, ex1, direction, 0)
        assert torch.equal(out1, run(method, content, ex1, direction, 0)), "not reproducible"
        out2 = run(method, content, ex2, direction, 0)
        if guidance == "exemplar":
            assert (out1 - out2).abs().amax(dim=(1, 2, 3)).min() > 1e-3, "another exemplar must change every output"
        elif guidance == "none":
            assert torch.equal(out1, out2), "declares guidance='none' but the exemplar changes the output"
        else:  # noise: the seed steers the output
            other_seed = run(method, content, ex1, direction, 1)
            assert (out1 - other_seed).abs().max() > 1e-3, "guidance='noise' but the seed does not change the output"


@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip_gives_identical_outputs(name: str, fitted: Any, tmp_path: Path) -> None:
    method, _ = fitted(name)
    path = tmp_path / "model.pt"
    method.save(path)
    restored = build(name)
    before = {d: run(restored, *inputs(d, name=name)[:2], direction=d, seed=3) for d in directions(name)}
    restored.load(path)
    for direction in directions(name):
        content, exemplar, _ = inputs(direction, name=name)
        want = run(method, content, exemplar, direction, 3)
        got = run(restored, content, exemplar, direction, 3)
        assert torch.equal(got, want)
        if is_learned(name):  # the load must have changed something, or this test proves nothing
            assert not torch.equal(before[direction], want), "a fitted model translates like a fresh one"


@pytest.mark.parametrize("name", NAMES)
def test_fit_fails_cleanly_on_nan(name: str, tmp_path: Path) -> None:
    require_learned(name)
    overrides = OmegaConf.to_container(method_config(name).tests.nan_overrides)
    method = build(name, **overrides)  # type: ignore[arg-type]
    with pytest.raises(NonFiniteError, match="non-finite"):
        fit(method, tmp_path)
    checkpoint = tmp_path / CHECKPOINT_NAME
    if checkpoint.exists():  # an interval checkpoint may exist, but never a finished one
        assert torch.load(checkpoint, weights_only=False)["step"] < int(method.params["steps"])


class _Interrupt(Exception):
    pass


@pytest.mark.parametrize("name", NAMES)
def test_fit_resumes_where_an_interrupted_run_stopped(name: str, tmp_path: Path) -> None:
    require_learned(name)
    overrides = {"steps": 12, "checkpoint_every": 4}
    straight = build(name, **overrides)
    straight_history = fit(straight, tmp_path / "straight")

    workdir = tmp_path / "interrupted"

    def interrupt(step: int, values: dict[str, float]) -> None:  # crash after a checkpoint exists
        if (workdir / CHECKPOINT_NAME).exists():
            raise _Interrupt(step)

    first = build(name, **overrides)
    with pytest.raises(_Interrupt):
        fit(first, workdir, log=interrupt)
    assert 0 < torch.load(workdir / CHECKPOINT_NAME, weights_only=False)["step"] < 12
    resumed = build(name, **overrides)
    resumed_history = fit(resumed, workdir)
    assert [r["step"] for r in resumed_history] == list(range(12))
    for got, want in zip(resumed_history, straight_history, strict=True):
        assert got == pytest.approx(want, rel=1e-4, abs=1e-6)
    for direction in directions(name):
        content, exemplar, _ = inputs(direction, name=name)
        torch.testing.assert_close(run(resumed, content, exemplar, direction, 0),
                                   run(straight, content, exemplar, direction, 0), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_loader_workers_do_not_change_training(name: str, tmp_path: Path) -> None:
    """Batches fetched in 2 worker processes (``loader_workers``, issue 18 item 5) train exactly as in-process ones:
    the index order is drawn in the main process and the data are deterministic per index."""
    require_learned(name)
    if METHODS.get(name).capabilities.training == "single_image":
        pytest.skip(f"{name} trains on one case at a time: it loads no batches")
    in_process = fit(build(name, steps=2), tmp_path / "in-process")
    in_workers = fit(build(name, steps=2), tmp_path / "workers", workers=2)
    assert len(in_process) == 2
    for got, want in zip(in_workers, in_process, strict=True):
        assert got == pytest.approx(want, rel=1e-5, abs=1e-7)
