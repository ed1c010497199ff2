"""The shared SPADE kit: its normalisations, padding and shortcut options."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.errors import BenchError
from methods.common.spade import PARAM_FREE_NORMS, SPADE, PositionalNorm2d, SPADEResBlock


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_positional_norm_normalises_each_pixel_over_channels() -> None:
    x = torch.randn(2, 5, 3, 4) * 3 + 1
    y = PositionalNorm2d()(x)
    assert torch.allclose(y.mean(1), torch.zeros(2, 3, 4), atol=1e-5)
    assert torch.allclose(y.var(1), torch.ones(2, 3, 4), atol=1e-3)  # unbiased var, eps 1e-5
    # the formula of CoCosNet's PositionalNorm2d, written out for one pixel
    v = x[1, :, 2, 3]
    assert torch.allclose(y[1, :, 2, 3], (v - v.mean()) / (v.var() + 1e-5).sqrt(), atol=1e-6)


def test_sync_norm_is_batch_norm_on_one_process() -> None:
    torch.manual_seed(0)
    x, seg = torch.randn(4, 6, 8, 8), torch.rand(4, 3, 4, 4)
    torch.manual_seed(1)
    batch = SPADE(6, 3, 16, "batch")
    torch.manual_seed(1)
    sync = SPADE(6, 3, 16, "sync")
    assert isinstance(sync.norm, torch.nn.SyncBatchNorm)
    assert torch.equal(batch(x, seg), sync(x, seg))


@pytest.mark.parametrize("norm", PARAM_FREE_NORMS)
def test_modulation_is_norm_times_one_plus_gamma_plus_beta(norm: str) -> None:
    torch.manual_seed(0)
    net = SPADE(6, 3, 16, norm, kernel_size=3, reflect_pad=True).eval()
    x, seg = torch.randn(2, 6, 8, 8), torch.rand(2, 3, 2, 2)
    m = F.interpolate(seg, size=(8, 8), mode="nearest")
    actv = F.relu(F.conv2d(F.pad(m, (1,) * 4, mode="reflect"), net.shared[0].weight, net.shared[0].bias))
    actv = F.pad(actv, (1,) * 4, mode="reflect")
    gamma, beta = (F.conv2d(actv, c.weight, c.bias) for c in (net.gamma, net.beta))
    assert torch.allclose(net(x, seg), net.norm(x) * (1 + gamma) + beta, atol=1e-6)


def test_reflection_padding_changes_values_not_parameters() -> None:
    torch.manual_seed(0)
    zero = SPADEResBlock(8, 4, 3, hidden=16, kernel_size=5)
    torch.manual_seed(0)
    refl = SPADEResBlock(8, 4, 3, hidden=16, kernel_size=5, reflect_pad=True)
    assert n_params(zero) == n_params(refl) and zero.state_dict().keys() == refl.state_dict().keys()
    x, seg = torch.randn(2, 8, 6, 6), torch.rand(2, 3, 6, 6)
    a, b = zero.eval()(x, seg), refl.eval()(x, seg)
    assert a.shape == b.shape == (2, 4, 6, 6)
    # the centre pixels see no padding from the block's 3×3 convs but the 5×5 SPADE convs reach the border
    assert not torch.allclose(a, b)


def test_learned_shortcut_and_spectral_norm_options() -> None:
    same = SPADEResBlock(8, 8, 3, hidden=16)
    diff = SPADEResBlock(8, 4, 3, hidden=16, spectral=False)
    assert not same.learned_shortcut and not hasattr(same, "conv_s")
    assert diff.learned_shortcut and diff.conv_s.bias is None
    assert hasattr(same.conv_0, "weight_orig") and not hasattr(diff.conv_0, "weight_orig")
    # 3×3 convs 8→4→4, a 1×1 shortcut 8→4, three SPADEs with hidden 16 on 3 label channels
    spade = lambda c: (3 * 9 * 16 + 16) + 2 * (16 * 9 * c + c)  # noqa: E731
    assert n_params(diff) == (8 * 9 * 4 + 4) + (4 * 9 * 4 + 4) + 8 * 4 + spade(8) + spade(4) + spade(8)


def test_unknown_norm_and_even_kernel_are_refused() -> None:
    with pytest.raises(BenchError, match="param-free norm"):
        SPADE(4, 3, param_free="group")
    with pytest.raises(BenchError, match="odd"):
        SPADE(4, 3, kernel_size=4)
