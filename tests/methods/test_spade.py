"""``spade`` (SPADE without the image encoder): official parameter counts, the label-map contract, no exemplar use."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.base import FitContext
from methods.common.spade import SPADEDiscriminator, SPADEGenerator
from tests.methods.labelmap_data import label_maps, labelmap_train_data, one_hot

TINY = {"allow_uncalibrated": True, "input_nc": 5, "label_nc": 5, "crop_size": 16, "load_size": None,
        "flip": False, "ngf": 2, "n_up_blocks": 1, "spade_hidden": 8, "ndf": 4, "n_layers_d": 2, "num_d": 2,
        "lambda_vgg": 0.0, "batch_size": 2, "steps": 2, "decay_steps": 1, "checkpoint_every": 0}


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_paper_networks_have_the_official_parameter_counts() -> None:
    # NVlabs/SPADE @fecacc92, `train.py --dataset_mode ade20k` (semantic_nc 151, crop 256, use_vae off), counted by
    # building its define_G / define_D (methods/spade/README.md)
    with torch.device("meta"):
        g, d = SPADEGenerator(151, 256, 64, None, 4, 128, "sync"), SPADEDiscriminator(151 + 3, 64, 4, 2)
    assert (n_params(g), n_params(d)) == (96_492_483, 5_836_930)
    assert isinstance(g.fc, torch.nn.Conv2d) and g.fc.in_channels == 151  # starts from the downsampled map


def test_fit_and_translate_on_the_label_map_contract(tmp_path: Path) -> None:
    method = create_method("spade", **TINY)
    method.fit(labelmap_train_data(2, 16, 5), FitContext(workdir=tmp_path, progress=False))
    seg = one_hot(label_maps(3, 24, 5, seed=4), 5)  # another size than crop_size: resized back
    ex1, ex2 = torch.rand(2, 3, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    out = method.translate(seg, ex1, seed=0)
    assert out.shape == (3, 3, 24, 24) and out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, method.translate(seg, ex2, seed=7))  # the exemplar and the seed have no effect
    # class indices = one-hot (up to round-off: another memory layout)
    torch.testing.assert_close(out, method.translate(label_maps(3, 24, 5, seed=4), None), rtol=0, atol=1e-6)
    other = one_hot(label_maps(3, 24, 5, seed=5), 5)
    assert not torch.allclose(out, method.translate(other, ex1))


def test_conditioning_with_other_channels_is_refused() -> None:
    method = create_method("spade", **{**TINY, "input_nc": 6})
    with pytest.raises(BenchError, match=r"expects conditioning maps \[N,6,H,W\]"):
        method.translate(torch.rand(1, 5, 16, 16), None)
    with pytest.raises(BenchError, match="input_nc is 6"):  # class indices one-hot to label_nc = 5 channels
        method.translate(torch.zeros(1, 16, 16, dtype=torch.long), None)
