"""Colour correction (MSCA's retrieving task): the WCT² network matches the official checkpoints' layout, WCT moves
mean and covariance to the style's, the Reinhard substitute moves lαβ moments, and the weights rules hold (refusal
naming file and checksum; opt-in gives the substitute, uncalibrated; present files are checked and loaded strictly).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from core import weights
from core.errors import BenchError, MissingWeightsError
from core.hashing import file_sha256, git_blob_sha1
from core.registry import UnknownNameError
from protocols.colour_correction import (
    COLOUR_CORRECTIONS,
    SUBSTITUTE,
    WCT2_ARTIFACTS,
    colour_correct,
    reinhard_transfer,
    rgb_to_lab,
)
from protocols.wct2 import WCT2, HaarPool, HaarUnpoolCat, feature_wct, usable_labels, wct

# (key, shape) of the official state_dicts, in order, read from clovaai/WCT2 model.py (commit 22b16df):
# WaveEncoder(option_unpool="cat5") and WaveDecoder(option_unpool="cat5"); the Haar filters of get_wav are
# (frozen) parameters there, so they are checkpoint keys too.
_C = {"1_1": (64, 3), "1_2": (64, 64), "2_1": (128, 64), "2_2": (128, 128), "3_1": (256, 128), "3_2": (256, 256),
      "3_3": (256, 256), "3_4": (256, 256), "4_1": (512, 256)}


def _conv_keys(name: str, cout: int, cin: int, k: int = 3) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (cout, cin, k, k)), (f"{name}.bias", (cout,))]


def _haar_keys(name: str, channels: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.{band}.weight", (channels, 1, 2, 2)) for band in ("LL", "LH", "HL", "HH")]


OFFICIAL_ENCODER = (_conv_keys("conv0", 3, 3, 1) + _conv_keys("conv1_1", *_C["1_1"]) + _conv_keys("conv1_2", *_C["1_2"])
                    + _haar_keys("pool1", 64) + _conv_keys("conv2_1", *_C["2_1"]) + _conv_keys("conv2_2", *_C["2_2"])
                    + _haar_keys("pool2", 128) + _conv_keys("conv3_1", *_C["3_1"]) + _conv_keys("conv3_2", *_C["3_2"])
                    + _conv_keys("conv3_3", *_C["3_3"]) + _conv_keys("conv3_4", *_C["3_4"])
                    + _haar_keys("pool3", 256) + _conv_keys("conv4_1", *_C["4_1"]))
OFFICIAL_DECODER = (_conv_keys("conv4_1", 256, 512) + _haar_keys("recon_block3", 256)
                    + _conv_keys("conv3_4_2", 256, 1280) + _conv_keys("conv3_3", 256, 256)
                    + _conv_keys("conv3_2", 256, 256) + _conv_keys("conv3_1", 128, 256)
                    + _haar_keys("recon_block2", 128) + _conv_keys("conv2_2_2", 128, 640)
                    + _conv_keys("conv2_1", 64, 128) + _haar_keys("recon_block1", 64)
                    + _conv_keys("conv1_2_2", 64, 320) + _conv_keys("conv1_1", 3, 64))


@pytest.fixture(autouse=True)
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "weights"


def _images(seed: int, n: int = 2, h: int = 16, w: int = 24, lo: int = 0, hi: int = 256) -> np.ndarray:
    return np.random.default_rng(seed).integers(lo, hi, size=(n, h, w, 3), dtype=np.uint8)


def test_architecture_matches_the_official_checkpoint_layout() -> None:
    model = WCT2()
    for part, official in ((model.encoder, OFFICIAL_ENCODER), (model.decoder, OFFICIAL_DECODER)):
        assert [(k, tuple(v.shape)) for k, v in part.state_dict().items()] == official
    count = {name: sum(p.numel() for p in part.parameters()) for name, part in (("enc", model.encoder),
                                                                                ("dec", model.decoder))}
    assert count == {"enc": 3_512_908, "dec": 6_608_963}  # = the sums of the official shapes above
    assert sum(int(np.prod(s)) for _, s in OFFICIAL_ENCODER) == count["enc"]
    assert sum(int(np.prod(s)) for _, s in OFFICIAL_DECODER) == count["dec"]
    assert not any(p.requires_grad for n, p in model.named_parameters() if ".LL." in n or ".HH." in n)


def test_haar_kernels_are_the_official_ones_and_unpooling_inverts_pooling() -> None:
    pool = HaarPool(2)
    expected = {"LL": [[0.5, 0.5], [0.5, 0.5]], "LH": [[-0.5, 0.5], [-0.5, 0.5]],
                "HL": [[-0.5, -0.5], [0.5, 0.5]], "HH": [[0.5, -0.5], [-0.5, 0.5]]}
    for band, kernel in expected.items():
        torch.testing.assert_close(getattr(pool, band).weight[1, 0], torch.tensor(kernel), atol=1e-7, rtol=0)
    x = torch.rand(1, 2, 6, 8)
    bands = pool(x)
    assert all(b.shape == (1, 2, 3, 4) for b in bands)
    cat = HaarUnpoolCat(2)(bands, x)
    assert cat.shape == (1, 10, 6, 8)
    torch.testing.assert_close(cat[:, 0:2] + cat[:, 2:4] + cat[:, 4:6] + cat[:, 6:8], x, atol=1e-6, rtol=0)
    torch.testing.assert_close(cat[:, 8:], x)


def test_wct2_forward_shapes_with_random_weights() -> None:
    """Test-only: random weights are never a user path (colour_correct refuses or substitutes)."""
    torch.manual_seed(0)
    model = WCT2().eval()
    content, style = torch.rand(1, 3, 16, 24), torch.rand(1, 3, 24, 16)
    feature, skips = model.encoder(content)
    assert feature.shape == (1, 512, 2, 3)
    assert [tuple(skips[f"pool{k}"][0].shape) for k in (1, 2, 3)] == [(1, 64, 8, 12), (1, 128, 4, 6), (1, 256, 2, 3)]
    assert model.decoder(feature, skips).shape == (1, 3, 16, 24)
    labels_c = torch.zeros(16, 24, dtype=torch.long)
    labels_c[:, 12:] = 1
    labels_s = torch.zeros(24, 16, dtype=torch.long)
    labels_s[12:] = 1
    for out in (model.transfer(content, style), model.transfer(content, style, labels_c, labels_s)):
        assert out.shape == (1, 3, 16, 24) and torch.isfinite(out).all()
        assert out.min() >= 0 and out.max() <= 1


def _cov(x: torch.Tensor) -> torch.Tensor:
    centred = x.double() - x.double().mean(1, keepdim=True)
    return centred @ centred.T / (x.shape[1] - 1)


def test_wct_gives_the_style_mean_and_covariance() -> None:
    gen = torch.Generator().manual_seed(0)
    content = torch.randn(4, 300, generator=gen, dtype=torch.float64) * 2 + 1
    mix = torch.randn(4, 4, generator=gen, dtype=torch.float64)
    style = mix @ torch.randn(4, 200, generator=gen, dtype=torch.float64) + torch.tensor([[3.0], [-1], [0], [5]],
                                                                                          dtype=torch.float64)
    out = wct(content, style, eps=0.0, clamp=False)
    torch.testing.assert_close(out.mean(1), style.mean(1), atol=1e-9, rtol=0)
    torch.testing.assert_close(_cov(out), _cov(style), atol=1e-9, rtol=1e-9)
    # the official regularisation (+I) and clamp keep the range of the content
    official = wct(content, style)
    assert official.min() >= content.min() and official.max() <= content.max()


def test_segment_wise_wct_per_label() -> None:
    gen = torch.Generator().manual_seed(1)
    content = torch.randn(1, 3, 8, 10, generator=gen, dtype=torch.float64)
    style = torch.randn(1, 3, 8, 10, generator=gen, dtype=torch.float64) * 3 + 2
    lc = torch.zeros(8, 10, dtype=torch.long)
    lc[:, 5:] = 1
    lc[0, :] = 7  # a label the style lacks: left unchanged
    ls = torch.zeros(8, 10, dtype=torch.long)
    ls[4:] = 1
    labels = usable_labels(lc.numpy(), ls.numpy())
    assert labels == [0, 1]  # 7: absent from the style
    flat_s, flat_c = style.reshape(3, -1), content.reshape(3, -1)
    exact = feature_wct(content, style, lc, ls, labels, eps=0.0, clamp=False).reshape(3, -1)
    official = feature_wct(content, style, lc, ls, labels).reshape(3, -1)  # eps = 1, clamped
    for label in (0, 1):
        got, want = exact[:, (lc == label).flatten()], flat_s[:, (ls == label).flatten()]
        torch.testing.assert_close(got.mean(1), want.mean(1), atol=1e-9, rtol=0)
        torch.testing.assert_close(_cov(got), _cov(want), atol=1e-9, rtol=1e-9)
        torch.testing.assert_close(official[:, (lc == label).flatten()],
                                   wct(flat_c[:, (lc == label).flatten()], want))
    for out in (exact, official):
        torch.testing.assert_close(out[:, (lc == 7).flatten()], flat_c[:, (lc == 7).flatten()])


def test_usable_labels_follow_the_official_size_rules() -> None:
    content = np.zeros((20, 20), dtype=np.int64)
    content[:1, :10] = 1  # 10 pixels: too few (> 10 needed)
    content[5:10] = 2
    style = np.full((20, 20), 2)
    style[:1, :11] = 1
    style[19, 19] = 0  # label 0: 1 style pixel: too few
    assert usable_labels(content, style) == [2]


def test_reinhard_moves_lab_moments_to_the_style() -> None:
    content, style = _images(0, 1, lo=40, hi=230)[0] / 255.0, _images(1, 1, 20, 12, lo=60, hi=200)[0] / 255.0
    out = reinhard_transfer(content, style)
    lab_o, lab_s = rgb_to_lab(out).reshape(-1, 3), rgb_to_lab(style).reshape(-1, 3)
    np.testing.assert_allclose(lab_o.mean(0), lab_s.mean(0), atol=1e-10)
    np.testing.assert_allclose(lab_o.std(0), lab_s.std(0), atol=1e-10)
    lc = np.zeros((16, 24), dtype=np.int64)
    lc[:, 10:] = 3
    ls = np.zeros((20, 12), dtype=np.int64)
    ls[8:] = 3
    lab_o = rgb_to_lab(reinhard_transfer(content, style, lc, ls))
    for label in (0, 3):
        np.testing.assert_allclose(lab_o[lc == label].mean(0), rgb_to_lab(style)[ls == label].mean(0), atol=1e-10)
        np.testing.assert_allclose(lab_o[lc == label].std(0), rgb_to_lab(style)[ls == label].std(0), atol=1e-10)


def test_substitute_is_the_identity_when_content_is_the_style() -> None:
    images = _images(2)
    result = colour_correct(images, images, SUBSTITUTE, allow_uncalibrated=True)
    # exact in lαβ; the uint8 round trip and the LMS floor at 1/255 move a pixel by at most one level
    assert np.abs(result.images.astype(int) - images).max() <= 1
    assert result.method == "reinhard" and result.calibrated is False


def test_missing_weights_refuse_naming_file_checksum_and_command() -> None:
    with pytest.raises(MissingWeightsError) as info:
        colour_correct(_images(0), _images(1), allow_uncalibrated=False)
    text = str(info.value)
    artifact = weights.get("wct2_encoder_cat5")
    assert "wave_encoder_cat5_l4.pth" in text and artifact.git_blob_sha1 in text
    assert "python -m bench weights download wct2_encoder_cat5" in text and artifact.url in text


def test_opt_in_gives_the_substitute_uncalibrated() -> None:
    content, style = _images(3), _images(4)
    result = colour_correct(content, style, allow_uncalibrated=True)
    assert result.method == SUBSTITUTE and result.calibrated is False
    assert result.settings["substitute_for"] == "wct2" and result.settings["weights_sha256"] is None
    direct = colour_correct(content, style, SUBSTITUTE, allow_uncalibrated=True).images
    np.testing.assert_array_equal(result.images, direct)
    assert result.images.dtype == np.uint8 and result.images.shape == content.shape
    with pytest.raises(BenchError, match="not the paper's method"):
        colour_correct(content, style, SUBSTITUTE, allow_uncalibrated=False)


def test_bad_input_and_unknown_names_are_refused() -> None:
    with pytest.raises(BenchError, match="uint8"):
        colour_correct(_images(0).astype(np.float32), _images(1), allow_uncalibrated=True)
    with pytest.raises(BenchError, match="both label maps"):
        colour_correct(_images(0), _images(1), allow_uncalibrated=True, content_labels=np.zeros((2, 16, 24), int))
    with pytest.raises(UnknownNameError, match="reinhard, wct2"):
        colour_correct(_images(0), _images(1), "histogram", allow_uncalibrated=True)
    assert set(COLOUR_CORRECTIONS.names()) == {"wct2", "reinhard"}


def _install(model: WCT2, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Save the model's state_dicts as the official files (legacy format, Haar filters as expanded views, as the
    2019 checkpoints are) and point the manifest at their blob ids."""
    folder.mkdir(parents=True)
    paths = []
    for name, part in zip(WCT2_ARTIFACTS, (model.encoder, model.decoder), strict=True):
        state = {k: (v[:1].expand_as(v) if ".LL." in k else v) for k, v in part.state_dict().items()}
        path = folder / weights.get(name).filename
        torch.save(state, path, _use_new_zipfile_serialization=False)
        monkeypatch.setitem(weights.MANIFEST, name, dataclasses.replace(weights.get(name),
                                                                        git_blob_sha1=git_blob_sha1(path)))
        paths.append(path)
    return paths


def test_present_weights_are_checked_loaded_strictly_and_used(no_weights: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(3)
    model = WCT2().eval()
    paths = _install(model, no_weights, monkeypatch)
    content, style = _images(5, 1, 16, 16), _images(6, 1, 16, 16)
    labels = np.zeros((1, 16, 16), dtype=np.int64)
    labels[:, 8:] = 1
    result = colour_correct(content, style, allow_uncalibrated=False, content_labels=labels, style_labels=labels)
    assert result.method == "wct2" and result.calibrated is True and result.settings["segment_wise"] is True
    assert result.settings["weights_sha256"] == {n: file_sha256(p) for n, p in zip(WCT2_ARTIFACTS, paths, strict=True)}
    to_tensor = lambda a: torch.from_numpy(a[0]).permute(2, 0, 1)[None].float() / 255  # noqa: E731
    expected = model.transfer(to_tensor(content), to_tensor(style), torch.from_numpy(labels[0]),
                              torch.from_numpy(labels[0]))
    want = np.rint(expected[0].permute(1, 2, 0).double().numpy() * 255).astype(np.uint8)
    assert np.abs(result.images[0].astype(int) - want).max() <= 1  # float32 vs float64 rounding at .5
    # a file that is not the published one is refused, even with the opt-in
    paths[1].write_bytes(paths[1].read_bytes()[:-1] + b"\0")
    with pytest.raises(MissingWeightsError, match="does not match"):
        colour_correct(content, style, allow_uncalibrated=True)
