"""The segmenter-training kit: resumable training with bit-identical weights, a falling loss on a learnable toy,
predictions, the architectures (DeepLab-v2's ASPP-L and output stride, parameter count, refusal without weights),
logging, and mIoU from one confusion matrix over the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import jaccard_score
from torch import nn

from core.errors import BenchError, DataError, MissingWeightsError
from core.registry import UnknownNameError
from metrics.segmentation import scores_from_confusion
from protocols.segmentation_training import (
    CHECKPOINT_NAME,
    SCHEDULE_PRESETS,
    SEGMENTER_ARCHS,
    SegSchedule,
    SegTracking,
    build_segmenter,
    split_confusion,
    train_segmenter,
    with_overrides,
)

PALETTE = np.array([[220, 30, 30], [30, 200, 40], [40, 60, 230]], dtype=np.uint8)  # class c ↔ colour c


@pytest.fixture(autouse=True)
def no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real ImageNet weights are visible: pretrained architectures refuse or start from seeded random weights."""
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def toy(n: int = 6, h: int = 16, w: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images of 4×4 blocks coloured by class (plus noise), labels = the class; one block per image ignored."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 3, size=(n, h // 4, w // 4))
    labels = blocks.repeat(4, axis=1).repeat(4, axis=2).astype(np.uint8)
    noise = rng.integers(-20, 21, size=(n, h, w, 3))
    images = np.clip(PALETTE[labels].astype(int) + noise, 0, 255).astype(np.uint8)
    labels[:, :4, :4] = 255
    return images, labels


def schedule(**changes: object) -> SegSchedule:
    base = {"arch": "small", "iterations": 8, "batch_size": 2, "lr": 0.01, "crop": (12, 24),
            "checkpoint_every": 3, "log_every": 2}
    return SegSchedule(**(base | changes))  # type: ignore[arg-type]


def train(tmp: Path, sched: SegSchedule, **kwargs: object):  # type: ignore[no-untyped-def]
    images, labels = toy()
    args = {"schedule": sched, "num_classes": 3, "seed": 5, "checkpoint_dir": tmp, "allow_uncalibrated": True,
            "progress": False} | kwargs
    return train_segmenter(images, labels, **args)  # type: ignore[arg-type]


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- resume ----------------------------------------------------------------------------------------------------------

class Interrupt(Exception):
    pass


@pytest.mark.parametrize("arch", ["small", "deeplabv3_mobilenet_v3_large"])  # the latter draws dropout masks
def test_interrupted_run_resumes_to_the_same_final_weights(tmp_path: Path, arch: str) -> None:
    sched = schedule(arch=arch, crop=(16, 16) if arch != "small" else (12, 24))
    whole = train(tmp_path / "whole", sched)

    def stop_at_5(done: int) -> None:
        if done == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(tmp_path / "cut", sched, on_step=stop_at_5)
    assert torch.load(tmp_path / "cut" / CHECKPOINT_NAME, weights_only=False)["step"] == 3  # last checkpoint
    seen: list[int] = []
    resumed = train(tmp_path / "cut", sched, on_step=seen.append)
    assert seen == [4, 5, 6, 7, 8]  # iterations 3..7 rerun, not 0..7
    assert same_weights(whole.net, resumed.net)
    assert [h["loss"] for h in whole.history] == [h["loss"] for h in resumed.history]


def test_a_finished_run_only_loads_and_another_seed_is_another_run(tmp_path: Path) -> None:
    sched = schedule(iterations=4)
    whole = train(tmp_path / "whole", sched)
    seen: list[int] = []
    again = train(tmp_path / "whole", sched, on_step=seen.append)
    assert seen == [] and same_weights(whole.net, again.net) and again.history == whole.history
    # a different seed is a different run: refused in the same folder, different weights elsewhere
    with pytest.raises(BenchError, match="other settings"):
        train(tmp_path / "whole", sched, seed=6)
    assert not same_weights(whole.net, train(tmp_path / "other", sched, seed=6).net)


def test_a_torn_checkpoint_is_refused_and_a_stale_temp_file_ignored(tmp_path: Path) -> None:
    sched = schedule(iterations=4, checkpoint_every=2)
    whole = train(tmp_path / "a", sched)
    path = tmp_path / "a" / CHECKPOINT_NAME
    (tmp_path / "a" / (CHECKPOINT_NAME + ".tmp")).write_bytes(b"half a write")  # a kill during a write
    assert same_weights(whole.net, train(tmp_path / "a", sched).net)
    path.write_bytes(path.read_bytes()[:1000])  # a file cut short (a write without the atomic rename)
    with pytest.raises(BenchError, match="not a readable checkpoint"):
        train(tmp_path / "a", sched)


# -- learning and prediction -----------------------------------------------------------------------------------------

def test_small_segmenter_learns_colour_to_class(tmp_path: Path) -> None:
    sched = schedule(iterations=60, batch_size=4, checkpoint_every=0, crop=None)
    trained = train(tmp_path, sched)
    losses = [h["loss"] for h in trained.history]
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:5])
    assert trained.history[0]["lr"] == pytest.approx(0.01) and trained.history[-1]["lr"] < 0.01 * (1 / 60) ** 0.8
    images, labels = toy(seed=1)  # unseen images
    scores = trained.evaluate(images, labels, 3)
    assert scores.miou > 0.8 and scores.pixel_accuracy > 0.9  # chance: about 1/3 and 0.2
    assert not trained.calibrated or trained.settings["backbone"]["artifact"] is None


def test_predict_returns_uint8_class_maps_of_the_image_size(tmp_path: Path) -> None:
    trained = train(tmp_path, schedule(iterations=2))
    images, _ = toy(n=3, h=20, w=36)
    odd = images[:, :19, :35]  # not a multiple of the output stride
    for batch in (odd, list(odd)):
        out = trained.predict(batch)
        assert out.shape == (3, 19, 35) and out.dtype == np.uint8 and out.max() < 3
    with pytest.raises(DataError, match="uint8"):
        trained.predict(odd.astype(np.float32))


def test_bad_labels_and_sizes_are_refused(tmp_path: Path) -> None:
    images, labels = toy()
    labels[0, 5, 5] = 7
    with pytest.raises(DataError, match="ids ≥ 3"):
        train_segmenter(images, labels, schedule=schedule(), num_classes=3, seed=0, checkpoint_dir=tmp_path,
                        allow_uncalibrated=True, progress=False)
    with pytest.raises(DataError, match="one label map per image"):
        train_segmenter(images, labels[:2], schedule=schedule(), num_classes=3, seed=0, checkpoint_dir=tmp_path,
                        allow_uncalibrated=True, progress=False)


# -- architectures ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("arch", SEGMENTER_ARCHS.names())
def test_every_architecture_builds_at_its_output_stride(arch: str) -> None:
    net, provenance = build_segmenter(arch, 5, seed=0, allow_uncalibrated=True)
    net.eval()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 64, 96))
    stride = SEGMENTER_ARCHS.get(arch).output_stride
    assert out.shape == (1, 5, 64 // stride, 96 // stride)
    assert provenance["calibrated"] is (SEGMENTER_ARCHS.get(arch).backbone is None)


def test_deeplabv2_has_aspp_l_on_a_dilated_resnet101_with_frozen_bn() -> None:
    net, provenance = build_segmenter("deeplabv2_resnet101", 19, seed=0, allow_uncalibrated=True)
    branches = list(net.head.branches)
    assert [(c.kernel_size, c.dilation, c.padding, c.in_channels, c.out_channels) for c in branches] == [
        ((3, 3), (r, r), (r, r), 2048, 19) for r in (6, 12, 18, 24)]
    assert all(abs(float(c.weight.detach().std()) - 0.01) < 1e-3 and not c.bias.any() for c in branches)
    assert net.backbone.layer3[1].conv2.dilation == (2, 2) and net.backbone.layer4[1].conv2.dilation == (4, 4)
    assert provenance == {"artifact": "resnet101", "weights_sha256": "random-init(seed=0)", "calibrated": False}
    net.train()
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(m.training or m.weight.requires_grad for m in bns)
    # parameters: torchvision's published ResNet-101 count (ResNet101_Weights.IMAGENET1K_V1.meta["num_params"] =
    # 44,549,160) minus its 1000-way fc (2048·1000 + 1000), plus ASPP-L: 4 × (2048·3·3·19 + 19)
    from torchvision.models import ResNet101_Weights

    published = ResNet101_Weights.IMAGENET1K_V1.meta["num_params"]
    assert published == 44_549_160
    total = sum(p.numel() for p in net.parameters())
    assert total == published - (2048 * 1000 + 1000) + 4 * (2048 * 9 * 19 + 19) == 43_901_068


def test_pretrained_architectures_refuse_without_imagenet_weights(tmp_path: Path) -> None:
    images, labels = toy(n=2)
    with pytest.raises(MissingWeightsError, match=r"resnet101-63fe2227\.pth") as info:
        train_segmenter(images, labels, schedule=schedule(arch="deeplabv2_resnet101", iterations=1, batch_size=1),
                        num_classes=3, seed=0, checkpoint_dir=tmp_path, allow_uncalibrated=False, progress=False)
    assert "allow_uncalibrated" in str(info.value)
    assert not (tmp_path / CHECKPOINT_NAME).exists()
    for arch in ("deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large"):
        with pytest.raises(MissingWeightsError):
            build_segmenter(arch, 3, seed=0, allow_uncalibrated=False)


def test_schedule_settings_presets_and_refusals() -> None:
    sched = SCHEDULE_PRESETS["paper"]
    assert (sched.arch, sched.lr, sched.head_lr_mult, sched.momentum, sched.weight_decay, sched.poly_power) == (
        "deeplabv2_resnet101", 2.5e-4, 10.0, 0.9, 5e-4, 0.9)
    assert "checkpoint_every" not in sched.settings() and sched.settings()["iterations"] == 20_000
    assert sched.lr_at(0) == 2.5e-4 and sched.lr_at(10_000) == pytest.approx(2.5e-4 * 0.5 ** 0.9)
    assert with_overrides("smoke", iterations=3).iterations == 3
    with pytest.raises(BenchError, match="no field"):
        with_overrides("smoke", iters=3)
    with pytest.raises(UnknownNameError):
        SegSchedule(arch="unet")
    with pytest.raises(BenchError, match="batch_size"):
        SegSchedule(arch="deeplabv3_resnet50", batch_size=1)  # its image-pooling BatchNorm needs 2 images
    with pytest.raises(BenchError, match="momentum"):
        SegSchedule(momentum=1.0)


# -- logging ---------------------------------------------------------------------------------------------------------

class FakeTracker:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, name: str, tags: dict[str, str], parent_id: str | None = None) -> str:
        self.calls.append(("start", (name, tags["bench.kind"], parent_id)))
        return "child-1"

    def log_params(self, run_id: str, params: dict[str, object]) -> None:
        self.calls.append(("params", params["segmenter.arch"]))

    def log_metrics(self, run_id: str, values: dict[str, float], step: int = 0) -> None:
        self.calls.append(("metrics", (run_id, step, sorted(values))))

    def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self.calls.append(("finish", status))


def test_curves_go_to_a_callback_or_an_mlflow_child_run(tmp_path: Path) -> None:
    logged: list[tuple[int, list[str]]] = []
    train(tmp_path / "a", schedule(iterations=5), tracking=lambda s, v: logged.append((s, sorted(v))), name="src")
    assert logged == [(s, ["segmenter.src.loss", "segmenter.src.lr"]) for s in (2, 4, 5)]
    tracker = FakeTracker()
    train(tmp_path / "b", schedule(iterations=4), tracking=SegTracking(tracker, "parent-9"), name="oracle")
    assert tracker.calls == [("start", ("segmenter:oracle", "segmenter", "parent-9")), ("params", "small"),
                             ("metrics", ("child-1", 2, ["loss", "lr"])), ("metrics", ("child-1", 4, ["loss", "lr"])),
                             ("finish", "FINISHED")]
    failed = FakeTracker()
    with pytest.raises(Interrupt):
        train(tmp_path / "c", schedule(iterations=4), tracking=SegTracking(failed, "p"),
              on_step=lambda done: (_ for _ in ()).throw(Interrupt()))
    assert failed.calls[-1] == ("finish", "FAILED")


# -- mIoU over the split ---------------------------------------------------------------------------------------------

def test_miou_from_one_confusion_matrix_equals_sklearn_on_concatenated_labels() -> None:
    rng = np.random.default_rng(3)
    labels = [rng.integers(0, 4, size=(6, 9)).astype(np.uint8) for _ in range(3)]
    predictions = [np.where(rng.random(l.shape) < 0.6, l, rng.integers(0, 4, size=l.shape)).astype(np.uint8)
                   for l in labels]  # noqa: E741
    labels[1][:2] = 255  # ignored pixels
    labels[2][labels[2] == 3] = 0  # class 3 is absent from one image's target
    scores = scores_from_confusion(split_confusion(predictions, labels, 5))  # class 4: absent everywhere
    keep = np.concatenate([l.ravel() for l in labels]) != 255  # noqa: E741
    y_true = np.concatenate([l.ravel() for l in labels])[keep]  # noqa: E741
    y_pred = np.concatenate([p.ravel() for p in predictions])[keep]
    reference = jaccard_score(y_true, y_pred, average=None)  # over classes present in y_true or y_pred
    assert scores.miou == pytest.approx(reference.mean(), abs=1e-12)
    np.testing.assert_allclose(scores.iou[:4], reference, atol=1e-12)
    assert np.isnan(scores.iou[4])


def test_miou_over_the_split_differs_from_the_mean_of_per_image_ious() -> None:
    # image 1: 100 pixels of class 0, all right; image 2: 4 pixels of class 1, half predicted as class 0
    labels = [np.zeros((10, 10), np.uint8), np.ones((2, 2), np.uint8)]
    predictions = [np.zeros((10, 10), np.uint8), np.array([[1, 1], [0, 0]], np.uint8)]
    split = scores_from_confusion(split_confusion(predictions, labels, 2)).miou
    per_image = np.mean([scores_from_confusion(split_confusion([p], [t], 2)).miou
                         for p, t in zip(predictions, labels, strict=True)])
    assert split == pytest.approx((100 / 102 + 2 / 4) / 2)  # IoU_0 = 100/102, IoU_1 = 2/4
    assert per_image == pytest.approx((1.0 + (0 / 2 + 2 / 4) / 2) / 2)  # image 2: IoU_0 = 0, IoU_1 = 1/2
    assert abs(split - per_image) > 0.1


def test_evaluate_is_the_split_confusion_of_its_predictions(tmp_path: Path) -> None:
    trained = train(tmp_path, schedule(iterations=3))
    images, labels = toy(n=3, seed=2)
    direct = scores_from_confusion(split_confusion(trained.predict(images), labels, 3))
    scores = trained.evaluate(images, labels)
    assert scores.miou == direct.miou and scores.pixels == int((labels != 255).sum())
    with pytest.raises(BenchError, match="predicts 3 classes"):
        trained.evaluate(images, labels, num_classes=19)
    with pytest.raises(DataError, match="nearest"):
        trained.evaluate(images, labels[:, :8])
