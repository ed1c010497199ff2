"""``pix2pixhd``: official parameter counts, the instance-boundary map, both generators, the label-map contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.errors import BenchError
from methods import create_method
from methods.base import FitContext
from methods.pix2pixhd.networks import instance_edges, make_discriminator, make_generator
from tests.methods.labelmap_data import label_maps, labelmap_train_data, one_hot

TINY = {"allow_uncalibrated": True, "input_nc": 5, "label_nc": 5, "crop_size": 16, "load_size": None,
        "flip": False, "ngf": 2, "n_downsample_global": 1, "n_blocks_global": 1, "n_blocks_local": 1, "ndf": 4,
        "n_layers_d": 2, "num_d": 2, "lambda_vgg": 0.0, "batch_size": 2, "steps": 2, "decay_steps": 1,
        "checkpoint_every": 0}


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize(("input_nc", "counts"), [
    (151, (182_907_395, 5_838_722, 183_398_019, 8_758_083)),  # ADE20k: 150 + don't care, no instance map
    (152, (182_910_531, 5_840_770, 183_402_723, 8_761_155)),  # + the instance-boundary channel
])
def test_networks_have_the_official_parameter_counts(input_nc: int, counts: tuple[int, ...]) -> None:
    # NVIDIA/pix2pixHD @14b3b3c models/networks.py, built locally: GlobalGenerator(input_nc, 3, 64, 4, 9, IN),
    # MultiscaleDiscriminator(input_nc + 3, 64, 3, IN, num_D 2, getIntermFeat), LocalEnhancer(input_nc, 3, 32, 4, 9,
    # 1, 3, IN) and num_D 3 (the 1024 px recipe `--netG local --ngf 32 --num_D 3`)
    with torch.device("meta"):
        nets = (make_generator("global", input_nc, 64, 4, 9, 3), make_discriminator(input_nc + 3, 64, 3, 2),
                make_generator("local", input_nc, 32, 4, 9, 3), make_discriminator(input_nc + 3, 64, 3, 3))
    assert tuple(n_params(net) for net in nets) == counts


def test_instance_edges_mark_both_sides_of_every_boundary() -> None:
    ids = torch.tensor([[[0, 0, 1, 1],
                         [0, 0, 1, 1],
                         [2, 2, 2, 2],
                         [2, 2, 2, 2]]])
    want = torch.tensor([[0, 1, 1, 0],
                         [1, 1, 1, 1],
                         [1, 1, 1, 1],
                         [0, 0, 0, 0]], dtype=torch.float32)
    assert torch.equal(instance_edges(ids), want[None, None])
    assert torch.equal(instance_edges(ids[:, None]), want[None, None])  # [N,1,H,W] too


def test_both_generators_keep_the_size_and_range() -> None:
    x = torch.rand(2, 5, 16, 16)
    for kind in ("global", "local"):
        y = make_generator(kind, 5, 4, 2, 1, 1)(x)
        assert y.shape == (2, 3, 16, 16) and y.abs().max() <= 1
    feats = make_discriminator(8, 4, 2, 2)(torch.rand(1, 8, 16, 16), return_features=True)
    assert len(feats) == 2 and all(len(f) == 4 and f[-1].size(1) == 1 for f in feats)  # 3 hidden layers + logits


def test_instance_edges_feed_one_more_channel(tmp_path: Path) -> None:
    method = create_method("pix2pixhd", **{**TINY, "instance_edges": True})
    assert method.G.model[1].in_channels == 6 and method.D.scales[0].layers[0][0].in_channels == 9
    method.fit(labelmap_train_data(2, 16, 5, instance=True), FitContext(workdir=tmp_path, progress=False))
    maps = label_maps(2, 16, 5, seed=3)
    seg, inst = one_hot(maps, 5), maps * 2 + (torch.arange(16) >= 8).long()
    out = method.translate(seg, None, instance=inst)
    assert out.shape == (2, 3, 16, 16)
    assert not torch.allclose(out, method.translate(seg, None, instance=maps))  # the edges are used
    with pytest.raises(BenchError, match="no instance map"):
        method.translate(seg, None)
    with pytest.raises(BenchError, match="no instance map"):
        method.fit(labelmap_train_data(2, 16, 5), FitContext(workdir=tmp_path / "b", progress=False))


def test_fit_and_translate_on_the_label_map_contract(tmp_path: Path) -> None:
    method = create_method("pix2pixhd", **{**TINY, "netG": "local"})
    method.fit(labelmap_train_data(2, 16, 5), FitContext(workdir=tmp_path, progress=False))
    seg = one_hot(label_maps(3, 24, 5, seed=4), 5)
    ex1, ex2 = torch.rand(2, 3, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    out = method.translate(seg, ex1, seed=0)
    assert out.shape == (3, 3, 24, 24) and out.min() >= 0 and out.max() <= 1
    assert torch.equal(out, method.translate(seg, ex2, seed=5))  # the exemplar and the seed have no effect


def test_bad_settings_are_refused() -> None:
    with pytest.raises(BenchError, match="netG"):
        create_method("pix2pixhd", **{**TINY, "netG": "huge"})
    with pytest.raises(BenchError, match="multiple of 4"):
        create_method("pix2pixhd", **{**TINY, "netG": "local", "crop_size": 18})
