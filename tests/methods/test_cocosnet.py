"""CoCosNet: network shapes, the warp on identity features, the contextual loss against its formula, the mask loss,
the exemplar sampling frequencies and the parameter counts of the official networks."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from core.errors import BenchError
from methods.cocosnet import DEFAULTS, build_networks
from methods.cocosnet.correspondence import CorrespondenceNet
from methods.cocosnet.losses import warped_mask_loss
from methods.cocosnet.sampling import ExemplarSampler
from methods.common.contextual import contextual_loss
from tests.methods.conftest import method_config, preset_params

# Official parameter counts: the classes of microsoft/CoCosNet@de0c1bbd (NoVGGCorrespondence, SPADEGenerator,
# MultiscaleDiscriminator) built with each README recipe (sync_batchnorm stubbed; adaptor_kernel 4 for the face and
# DeepFashion checkpoints). netD minus its never-called segmentation decoder (``dec``), which is not built here.
OFFICIAL = {  # dataset: (input_nc, netCorr, netG, netD, netD's unused decoder)
    "ade20k": (151, 59_315_716, 96_664_260, 6_862_194, 861_422),
    "celebahq": (19, 53_574_564, 92_710_596, 6_515_562, 785_126),
    "celebahq_edge": (15, 53_380_676, 92_590_788, 6_505_058, 782_814),
    "deepfashion": (20, 52_846_916, 92_740_548, 6_518_188, 785_704),
}


def tiny(**overrides: Any) -> CorrespondenceNet:
    torch.manual_seed(0)
    kwargs: dict[str, Any] = {"input_nc": 3, "ngf": 4, "corr_channels": 8, "spade_hidden": 8} | overrides
    return CorrespondenceNet(**kwargs)


def one_hot(ids: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(ids, n).permute(0, 3, 1, 2).float()


@pytest.mark.parametrize(("kwargs", "down"), [({}, 4), ({"match_resolution": "1/2"}, 2),
                                              ({"match_resolution": "full"}, 1),
                                              ({"warp_patch": True}, 4), ({"adaptor_kernel": 4}, 4)])
def test_correspondence_shapes(kwargs: dict[str, Any], down: int) -> None:
    net = tiny(**kwargs)
    seg = one_hot(torch.randint(0, 3, (2, 32, 32)), 3)
    ref, real = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    out = net(ref, seg, seg.flip(-1), real, warp_mask=True, cycle=True)
    h = 32 // down
    assert out["warp_out"].shape == (2, 3, 32, 32)
    assert out["warp_mask"].shape == (2, 3, h, h)
    assert torch.allclose(out["warp_mask"].sum(1), torch.ones(2, h, h), atol=1e-5)  # a convex mix of one-hots
    assert out["warp_cycle"].shape == out["exemplar_low"].shape
    assert out["warp_cycle"].shape == ((2, 3, 32, 32) if kwargs.get("warp_patch") else (2, 3, h, h))
    assert out["loss_domain"].ndim == 0 and out["loss_domain"] > 0


def test_maskmix_needs_the_exemplar_labels() -> None:
    with pytest.raises(BenchError, match="exemplar"):
        tiny()(torch.rand(1, 3, 16, 16), one_hot(torch.zeros(1, 16, 16).long(), 3))


class _Fixed(nn.Module):
    """Stands in for both domain adaptors: the same random features at every call (identity correspondence)."""

    def __init__(self, feats: torch.Tensor) -> None:
        super().__init__()
        self.feats = feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.feats.expand(x.size(0), -1, -1, -1)


@pytest.mark.parametrize("warp_patch", [False, True])
def test_identical_features_warp_the_exemplar_onto_itself(warp_patch: bool) -> None:
    net = tiny(maskmix=False, warp_patch=warp_patch, ngf=2)
    feats = torch.randn(1, 8, 8, 8)
    net.adaptor_seg = net.adaptor_img = _Fixed(feats)  # type: ignore[assignment]
    net.layer, net.theta, net.phi = nn.Identity(), nn.Identity(), nn.Identity()  # type: ignore[assignment]
    ref = torch.rand(2, 3, 32, 32) * 2 - 1
    out = net(ref, torch.zeros(2, 3, 32, 32), cycle=True)
    pooled = F.avg_pool2d(ref, 4)
    want = ref if warp_patch else F.interpolate(pooled, scale_factor=4, mode="nearest")
    torch.testing.assert_close(out["warp_out"], want, atol=1e-3, rtol=0)
    torch.testing.assert_close(out["warp_cycle"], ref if warp_patch else pooled, atol=1e-3, rtol=0)


def _contextual_by_loops(x: torch.Tensor, y: torch.Tensor, h: float, centre: str, eps: float = 1e-3
                         ) -> torch.Tensor:
    """The formula, one number at a time (methods/common/contextual.py's docstring)."""
    out = []
    for b in range(x.size(0)):
        xs, ys = x[b].flatten(1).T.double(), y[b].flatten(1).T.double()  # [P, C]
        if centre == "position":
            mu = ys.mean(1, keepdim=True)
            xs, ys = xs - mu, ys - mu
        elif centre == "channel":
            mu = ys.mean(0, keepdim=True)
            xs, ys = xs - mu, ys - mu
        xs = [v / v.norm() for v in xs]
        ys = [v / v.norm() for v in ys]
        d = [[1 - float(xi @ yj) for yj in ys] for xi in xs]
        total = 0.0
        for row in d:
            rel = [v / (min(row) + eps) for v in row]
            w = [math.exp((1 - v) / h) for v in rel]
            total += max(wj / sum(w) for wj in w)
        out.append(-math.log(total / len(d)))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("centre", ["position", "channel", "none"])
def test_contextual_loss_equals_its_formula(centre: str) -> None:
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(2, 5, 3, 3, generator=g), torch.randn(2, 5, 3, 3, generator=g)
    got = contextual_loss(x, y, h=0.1, centre=centre)  # type: ignore[arg-type]
    torch.testing.assert_close(got.double(), _contextual_by_loops(x, y, 0.1, centre), atol=1e-4, rtol=1e-4)
    assert float(contextual_loss(y, y, centre=centre).max()) < float(got.min())  # type: ignore[arg-type]


def test_mask_loss_weights_only_classes_the_exemplar_has() -> None:
    gt = torch.tensor([[[1, 2], [3, 0]]])  # [1,2,2]
    ref = torch.tensor([[[1, 1], [2, 2]]])  # class 3 absent from the exemplar, class 0 never counts
    perfect = one_hot(gt, 4)
    assert float(warped_mask_loss(perfect.clamp(min=1e-10), gt, ref)) < 1e-6
    uniform = torch.full((1, 4, 2, 2), 0.25)
    torch.testing.assert_close(warped_mask_loss(uniform, gt, ref), torch.tensor(math.log(4)), atol=1e-4, rtol=0)
    wrong_on_3 = perfect.clone()
    wrong_on_3[0, :, 1, 0] = torch.tensor([1.0, 0, 0, 0])  # pixel of class 3 (absent): no effect
    torch.testing.assert_close(warped_mask_loss(wrong_on_3, gt, ref), warped_mask_loss(perfect, gt, ref))


def test_exemplar_sampling_frequencies_follow_the_official_split() -> None:
    n = 50
    lists = torch.stack([torch.randperm(n, generator=torch.Generator().manual_seed(i))[:4] for i in range(n)])
    sampler = ExemplarSampler(n, lists)
    idx = torch.arange(n).repeat(400)
    refs, self_ref = sampler.draw(idx, torch.Generator().manual_seed(0))
    hard, easy = refs == lists[idx, -1], refs == lists[idx, 0]
    hard_only, easy_only = hard & ~easy & ~self_ref, easy & ~hard & ~self_ref
    total = float(idx.numel())
    assert abs(self_ref.float().mean() - 0.3) < 0.01
    assert torch.equal(refs[self_ref], idx[self_ref])  # self-reference: the ground truth itself
    assert bool((hard | easy)[~self_ref].all())
    assert abs(hard_only.sum() / total - 0.2) < 0.01 and abs(easy_only.sum() / total - 0.5) < 0.01


def test_deepfashion_sampling_uses_same_person_pairs_else_self_reference() -> None:
    same = torch.tensor([3, -1, 0, -1])
    sampler = ExemplarSampler(4, None, same, real_p=0.0, hard_p=0.0)
    refs, self_ref = sampler.draw(torch.tensor([0, 1, 2, 3, 0]), torch.Generator().manual_seed(0))
    assert refs.tolist() == [3, 1, 0, 3, 3] and bool(self_ref.all())
    with pytest.raises(Exception, match="exemplar lists"):
        ExemplarSampler(4, None, real_p=0.7)


def _paper_params(dataset: str) -> dict[str, Any]:
    cfg = method_config("cocosnet")
    overlay = OmegaConf.to_container(cfg.datasets[dataset]) if dataset in cfg.datasets else {}
    nc = OFFICIAL[dataset][0]
    return {**DEFAULTS, **preset_params("cocosnet", "paper"), **overlay, "input_nc": nc, "label_nc": nc,
            "dataset": dataset}  # type: ignore[dict-item]


@pytest.mark.parametrize("dataset", list(OFFICIAL))
def test_paper_networks_have_the_official_parameter_counts(dataset: str) -> None:
    _, corr, gen, disc, unused = OFFICIAL[dataset]
    with torch.device("meta"):  # shapes only: 160M parameters are not allocated
        nets = build_networks(_paper_params(dataset))
    counts = {name: sum(p.numel() for p in net.parameters()) for name, net in nets.items()}
    assert counts == {"Corr": corr, "G": gen, "D": disc - unused}


def test_ablations_zero_their_loss_and_reject_unknown_names() -> None:
    from methods import create_method

    method = create_method("cocosnet", **preset_params("cocosnet", "smoke", without=["reg", "domain"],
                                                       warp_cycle_w=1.0))
    assert method.w["warp_cycle_w"] == 0.0 and method.w["weight_domain"] == 0.0  # type: ignore[attr-defined]
    assert method.w["ctx_w"] == 1.0  # type: ignore[attr-defined]
    with pytest.raises(BenchError, match="unknown ablation"):
        create_method("cocosnet", **preset_params("cocosnet", "smoke", without=["gan"]))
    for name in ("feat", "domain", "perc", "context", "reg"):
        assert list(method_config(f"cocosnet_no_{name}").params.without) == [name]


@pytest.mark.parametrize(("dataset", "expected"), [("celebahq_edge", {"G_warp_cycle", "no_vgg_feat", "contextual"}),
                                                   ("deepfashion", {"G_warp_self", "fm"})])
def test_other_recipes_train_on_contract_data(dataset: str, expected: set[str], tmp_path: Any) -> None:
    """Two steps of the CelebA-HQ-edge (float conditioning, cycle loss) and DeepFashion (warp_patch, same-person
    pairs, warp-self loss) recipes on data laid out as the label-map contract says."""
    from datasets.base import TrainData
    from methods import create_method
    from methods.base import FitContext
    from methods.training import CHECKPOINT_NAME
    from tests.methods.labelmap_data import labelmap_train_data

    base = labelmap_train_data(n=3, size=64, label_nc=3)
    soft = base.a.tensors["input"] * 0.7 + 0.1  # type: ignore[attr-defined]  # not one-hot, like edge/pose maps
    a = type(base.a)(input=soft, label_map=base.a.tensors["label_map"])  # type: ignore[attr-defined,call-arg]
    meta = {"input_nc": 3, "label_nc": 3, "dataset": dataset, "exemplar_lists": torch.tensor([[1, 2], [2, 0], [0, 1]]),
            "same_person": torch.tensor([1, -1, 0])}
    overlay = OmegaConf.to_container(method_config("cocosnet").datasets[dataset])
    params = {**preset_params("cocosnet", "smoke"), **overlay, "input_nc": 3, "label_nc": 3,  # type: ignore[dict-item]
              "dataset": dataset, "steps": 2, "batch_size": 3}
    method = create_method("cocosnet", **params)
    method.fit(TrainData(a, base.b, kind="paired", meta=meta), FitContext(workdir=tmp_path, seed=0, progress=False))
    history = torch.load(tmp_path / CHECKPOINT_NAME, weights_only=False)["history"]
    assert expected <= set(history[0]) and all(math.isfinite(v) for row in history for v in row.values())
    assert "mask" not in history[0]
    out = method.translate(soft[:2], base.b.all_images()[1:3], exemplar_labels=soft[1:3])  # type: ignore[attr-defined]
    assert out.shape == (2, 3, 64, 64) and float(out.min()) >= 0 and float(out.max()) <= 1


@pytest.mark.parametrize(("name", "value", "valid"), [("match_resolution", "1/3", "1/4, 1/2, full"),
                                                      ("which_perceptual", "3_1", "5_2, 4_2"),
                                                      ("vgg_input", "bgr", "imagenet, raw")])
def test_check_params_refuses_an_unknown_choice_naming_the_valid_values(name: str, value: str, valid: str) -> None:
    from core.errors import NoRecipeError
    from methods.cocosnet import CoCosNet

    CoCosNet.check_params(DEFAULTS)  # the paper's values pass
    with pytest.raises(NoRecipeError, match=r"no training recipe for dataset 'cityscapes' \(recipes: ade20k, celebahq"):
        CoCosNet.check_params({**DEFAULTS, "dataset": "cityscapes"})  # a refusal of the protocol, not an input error
    with pytest.raises(BenchError, match=f"{name} must be one of {valid}") as info:
        CoCosNet.check_params({**DEFAULTS, name: value})
    assert repr(value) in str(info.value).splitlines()[0]  # one line: the name, the valid values, the bad value
    with pytest.raises(BenchError, match="temperature must be > 0"):
        CoCosNet.check_params({**DEFAULTS, "temperature": 0.0})
    with pytest.raises(BenchError, match=r"unknown ablation.*known: feat, domain, perc, context, reg"):
        CoCosNet.check_params({**DEFAULTS, "without": ["gan"]})
