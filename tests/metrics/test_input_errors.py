"""Every registered metric refuses its smallest bad inputs with a ``BenchError`` (one line naming the problem, a
``hint`` naming the fix), never a traceback from torch or numpy (issue 13, failure kind 1). A new metric must add its
cases here: the test over the registry fails for a metric without any."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from core.errors import BenchError
from metrics import METRICS, create_metric
from metrics.base import MetricInputError

from .conftest import random_images

# How each metric is built for the test: networks with random weights on the CPU, small and fast.
OPTIONS: dict[str, dict[str, Any]] = {
    "fid": {"dims": 64, "kid_subsets": 5}, "kid": {"dims": 64, "subsets": 5},
    "miou": {"variant": "mobilenet_v3_large", "resize": 64},
}
NETWORKS = {"fid", "kid", "lpips", "lpips_diversity", "style_loss", "semantic_consistency", "style_relevance", "miou"}


def images(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return random_images(n, size=size, seed=seed)


def labels(n: int, size: int, value: int) -> torch.Tensor:
    return torch.full((n, size, size), value, dtype=torch.long)


# name → [(what is wrong, call on the built metric, a fragment the message or fix must contain)]
Case = tuple[str, Callable[[Any], Any], str]
CASES: dict[str, list[Case]] = {
    "ssim": [("8×8 images < 11-tap window", lambda m: m(images(2, 8), images(2, 8, 1)), "ssim.window=7"),
             ("shapes differ", lambda m: m(images(2, 16), images(2, 17)), "equal shapes"),
             ("NaN pixels", lambda m: m(images(1, 16) * float("nan"), images(1, 16)), "NaN")],
    "psnr": [("shapes differ", lambda m: m(images(2, 16), images(3, 16)), "equal shapes"),
             ("no pairs", lambda m: m(images(0, 16), images(0, 16)), "no image pairs")],
    "lpips": [("16×16 < AlexNet's 31 px", lambda m: m(images(2, 16), images(2, 16, 1)), "lpips.net=vgg"),
              ("[-1,1] values", lambda m: m(images(1, 32) * 2 - 1, images(1, 32)), "(x + 1) / 2")],
    "lpips_diversity": [("one output per input", lambda m: m([images(1, 32)]), "at least 2 outputs"),
                        ("8×8 outputs", lambda m: m([images(2, 8)]), "31 px")],
    "fid": [("one image per set", lambda m: m(images(1, 32), images(1, 32, 1)), "at least 2 images"),
            ("1 channel of 2", lambda m: m(images(2, 32)[:, :2], images(2, 32)), "RGB")],
    "kid": [("one image per set", lambda m: m(images(1, 32), images(1, 32, 1)), "at least 2 images"),
            ("3 images: no spread", lambda m: m(images(3, 32), images(3, 32, 1)), "at least 4 samples")],
    "swd": [("sets of different sizes", lambda m: m(images(2, 16), images(3, 16, 1)), "score 2 images of each"),
            ("8×8 images < 16 px", lambda m: m(images(2, 8), images(2, 8, 1)), "swd.min_resolution=8")],
    "style_loss": [("8×8 < relu5_1's 16 px", lambda m: m(images(1, 8), images(1, 8, 1)), "at least 16 px"),
                   ("shapes differ", lambda m: m(images(1, 16), images(1, 32)), "resize the exemplar")],
    "semantic_consistency": [("8×8 < relu5_2's 16 px", lambda m: m(images(1, 8), images(1, 8, 1)), "16 px"),
                             ("shapes differ", lambda m: m(images(1, 16), images(1, 32)), "equal shapes")],
    "style_relevance": [("1×1 < relu2_2's 2 px", lambda m: m(images(1, 1), images(1, 1, 1), labels(1, 1, 0),
                                                              labels(1, 1, 0)), "at least 2 px"),
                        ("exemplar count", lambda m: m(images(2, 16), images(1, 16)), "one exemplar per output"),
                        ("no label maps", lambda m: m(images(1, 16), images(1, 16, 1)), "regions=whole_image"),
                        ("label size", lambda m: m(images(1, 16), images(1, 16, 1), labels(1, 8, 0),
                                                   labels(1, 16, 0)), "nearest-neighbour")],
    "exemplar_fidelity": [("shapes differ", lambda m: m(images(1, 16), images(1, 8)), "equal [N,3,H,W]"),
                          ("mask size", lambda m: m(images(1, 8), images(1, 8, 1), mask=labels(1, 4, 1)),
                           "one [H,W] mask"),
                          ("empty mask", lambda m: m(images(1, 8), images(1, 8, 1), mask=labels(1, 8, 0)),
                           "no region")],
    "miou": [("label id 40 of 21 classes", lambda m: m(images(1, 8), labels(1, 8, 40)), "64 of 64 label pixels"),
             ("label size", lambda m: m(images(1, 8), labels(1, 6, 0)), "resize labels")],
}


@pytest.fixture(scope="module")
def built(module_env: Path) -> dict[str, Any]:
    return {}


def build(name: str, cache: dict[str, Any]) -> Any:
    if name not in cache:
        extra = {"allow_uncalibrated": True, "device": "cpu"} if name in NETWORKS else {}
        cache[name] = create_metric(name, **extra, **OPTIONS.get(name, {}))
    return cache[name]


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_refuses_its_smallest_bad_inputs_with_a_fix(name: str, built: dict[str, Any]) -> None:
    assert CASES.get(name), f"metric {name} has no bad-input cases here: add its smallest bad inputs"
    metric = build(name, built)
    for what, call, fragment in CASES[name]:
        with pytest.raises(BenchError) as info:
            call(metric)
        message, hint = info.value.args[0], info.value.hint
        assert isinstance(info.value, MetricInputError), f"{name}, {what}: {type(info.value).__name__}"
        assert "\n" not in message and hint and "\n" not in hint, f"{name}, {what}: one line and a fix"
        assert fragment in str(info.value), f"{name}, {what}: {info.value}"


@pytest.mark.parametrize(("name", "options", "fix"), [
    ("ssim", {"window": 0}, "ssim.window=11"), ("swd", {"min_resolution": 4}, "swd.min_resolution=7"),
    ("lpips", {"lpips_version": "0.2", "allow_uncalibrated": True}, "lpips.lpips_version=0.1"),
    ("fid", {"algorithm": "scipy", "allow_uncalibrated": True}, "fid.algorithm=exact"),
])
def test_bad_settings_are_refused_with_the_option_to_pass(name: str, options: dict[str, Any], fix: str,
                                                          module_env: Path) -> None:
    with pytest.raises(MetricInputError) as info:
        create_metric(name, **options)
    assert fix in str(info.value.hint)
