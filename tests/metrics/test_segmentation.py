"""Segmentation scores against scikit-learn on fixtures, class-mapping tables, colour-coded layouts, the
torchvision DeepLabV3 adapter (random weights) and the Detectron2 panoptic adapter (skipped without detectron2)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import jaccard_score

from core.errors import BenchError, MissingWeightsError
from core.hashing import settings_hash
from metrics import create_metric
from metrics.base import MetricInputError
from metrics.segmentation import (
    IGNORE,
    UNKNOWN,
    ClassMapping,
    confusion_matrix,
    labels_from_colours,
    scores_from_confusion,
)
from metrics.segmenters import SEGMENTERS, Segmenter, panoptic_to_semantic

from .conftest import smooth_images

HAS_DETECTRON2 = importlib.util.find_spec("detectron2") is not None


def test_scores_match_scikit_learn() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 5, (3, 20, 20), generator=g)
    prediction = torch.where(torch.rand(3, 20, 20, generator=g) < 0.6, target, torch.randint(0, 5, (3, 20, 20),
                                                                                             generator=g))
    target[0, :2] = IGNORE
    prediction[1, :3] = -1  # void predictions count as wrong
    keep = target.flatten() != IGNORE
    t, p = target.flatten()[keep].numpy(), prediction.flatten()[keep].numpy()
    scores = scores_from_confusion(confusion_matrix(prediction, target, 5))
    iou = jaccard_score(t, p, labels=list(range(5)), average=None)  # every class occurs in this fixture
    assert scores.miou == pytest.approx(np.nanmean(iou), rel=1e-12)
    np.testing.assert_allclose(scores.iou, iou, rtol=1e-12)
    assert scores.pixel_accuracy == pytest.approx((t == p).mean(), rel=1e-12)
    cm = sk_confusion(t, p, labels=[0, 1, 2, 3, 4, -1])[:5]  # rows keep pixels predicted as void
    assert scores.mean_class_accuracy == pytest.approx(np.mean(np.diag(cm) / cm.sum(1)), rel=1e-12)


def test_miou_skips_classes_absent_from_target_and_prediction() -> None:
    target = torch.tensor([[0, 0, 1, 1]])
    scores = scores_from_confusion(confusion_matrix(target.clone(), target, 4))
    assert scores.miou == 1.0 and np.isnan(scores.iou[2:]).all()


def test_histogram_is_accumulated_over_the_set_not_averaged_per_image() -> None:
    a_t, a_p = torch.zeros(1, 10, 10, dtype=torch.long), torch.zeros(1, 10, 10, dtype=torch.long)
    b_t = torch.ones(1, 2, 2, dtype=torch.long)
    b_p = torch.zeros(1, 2, 2, dtype=torch.long)
    total = confusion_matrix(a_p, a_t, 2) + confusion_matrix(b_p, b_t, 2)
    scores = scores_from_confusion(total)
    assert scores.pixel_accuracy == pytest.approx(100 / 104)


def test_class_mapping_from_csv(tmp_path: Path) -> None:
    table = tmp_path / "mapping.csv"
    table.write_text("eval_id,name,target_ids,prediction_ids\n0,sky,10,3\n1,ground,11 12,5;6\n")
    mapping = ClassMapping.from_csv(table)
    assert mapping.names == ["sky", "ground"]
    assert mapping.map_target(torch.tensor([10, 11, 12, 255, 99])).tolist() == [0, 1, 1, IGNORE, UNKNOWN]
    assert mapping.map_prediction(torch.tensor([3, 5, 6, 7, -1])).tolist() == [0, 1, 1, -1, -1]
    other = tmp_path / "other.csv"
    other.write_text("eval_id,name,target_ids,prediction_ids\n0,sky,10,3\n1,ground,11,5\n")
    assert mapping.settings()["class_mapping_hash"] != ClassMapping.from_csv(other).settings()["class_mapping_hash"]
    bad = tmp_path / "bad.csv"
    bad.write_text("eval_id,name,target_ids\n0,sky,10\n")
    with pytest.raises(ValueError, match="prediction_ids"):
        ClassMapping.from_csv(bad)


def test_colour_coded_layouts() -> None:
    image = torch.zeros(3, 2, 2, dtype=torch.uint8)
    image[0, 0, 0] = 255  # red
    image[1, 1, 1] = 128  # half green
    labels = labels_from_colours(image, {(255, 0, 0): 4, (0, 0, 0): 0})
    assert labels.tolist() == [[4, 0], [0, IGNORE]]


def test_panoptic_output_becomes_one_semantic_map() -> None:
    panoptic = torch.tensor([[0, 1], [2, 3]], dtype=torch.int32)
    segments = [{"id": 1, "isthing": True, "category_id": 0}, {"id": 2, "isthing": False, "category_id": 1},
                {"id": 3, "isthing": False, "category_id": 53}]
    assert panoptic_to_semantic(panoptic, segments).tolist() == [[-1, 0], [80, 132]]


# -- adapters -------------------------------------------------------------------------------------------------------

def test_deeplabv3_refuses_without_weights() -> None:
    with pytest.raises(MissingWeightsError, match=r"deeplabv3_mobilenet_v3_large-fc3c493d\.pth"):
        create_metric("miou", variant="mobilenet_v3_large")


def test_deeplabv3_adapter_with_random_weights(module_env: Path) -> None:
    metric = create_metric("miou", variant="mobilenet_v3_large", allow_uncalibrated=True, device="cpu",
                           resize=64, batch_size=2)
    images = smooth_images(3, size=48, seed=1)
    predicted = metric.segmenter.predict(images)
    assert predicted.shape == (3, 48, 48) and predicted.dtype == torch.long
    assert int(predicted.min()) >= 0 and int(predicted.max()) < 21
    value = metric(images, predicted)  # its own prediction as target: perfect agreement
    assert value.value == pytest.approx(1.0) and value.calibrated is False
    companions = {c.name: c.value for c in value.extra["companions"]}
    assert companions == {"pixel_accuracy": pytest.approx(1.0), "mean_class_accuracy": pytest.approx(1.0)}
    assert value.extra["settings"]["class_mapping"] == "identity"
    with pytest.raises(ValueError, match="resize labels"):
        metric(images, predicted[:, :40])


@pytest.mark.skipif(HAS_DETECTRON2, reason="detectron2 is installed; the missing-package message cannot be tested")
def test_detectron2_adapter_explains_the_missing_package() -> None:
    with pytest.raises(BenchError, match="needs detectron2"):
        create_metric("miou", segmenter="detectron2_panoptic", allow_uncalibrated=True)


def test_detectron2_panoptic_adapter() -> None:
    pytest.importorskip("detectron2", reason="detectron2 not installed (optional extra: see pyproject)")
    metric = create_metric("miou", segmenter="detectron2_panoptic", allow_uncalibrated=True, device="cpu")
    images = smooth_images(1, size=64, seed=2)
    predicted = metric.segmenter.predict(images)
    assert predicted.shape == (1, 64, 64) and int(predicted.max()) < 133
    assert len(metric.segmenter.class_names) == 133
    assert bool(((predicted == -1) | ((predicted >= 0) & (predicted < 133))).all())
    value = metric(images, predicted.clamp_min(0))
    assert value.calibrated is False and 0 <= value.value <= 1
    settings = metric.settings()
    assert settings["config"] == "COCO-PanopticSegmentation/panoptic_fpn_R_101_3x.yaml"
    assert settings["calibrated"] is False and settings["weights_sha256"] == "random-init(seed=0)"
    assert settings["combine"]["stuff_area_limit"] == 4096


def test_detectron2_refuses_without_weights() -> None:
    pytest.importorskip("detectron2", reason="detectron2 not installed (optional extra: see pyproject)")
    with pytest.raises(MissingWeightsError, match=r"model_final_cafdb1\.pkl \(sha256 808c675e647298688589c895c9581f"):
        create_metric("miou", segmenter="detectron2_panoptic", device="cpu")


def test_detectron2_segments_map_onto_the_133_classes() -> None:
    """Random weights predict only void at 64×64 (no stuff region reaches 4096 px; random RPN deltas push every box
    out of the image), so a private copy with the thresholds lowered and the box regressors zeroed yields real thing
    and stuff segments, which must land on their class ids."""
    pytest.importorskip("detectron2", reason="detectron2 not installed (optional extra: see pyproject)")
    from metrics.segmenters import Detectron2Panoptic

    segmenter = Detectron2Panoptic(allow_uncalibrated=True, device="cpu")
    segmenter.network = network = segmenter.network.private_copy()
    model = network.model
    model.combine_instances_score_thresh, model.combine_stuff_area_thresh = 0.0, 1
    model.roi_heads.box_predictor.test_score_thresh = 0.0
    with torch.no_grad():
        model.roi_heads.mask_head.predictor.bias.fill_(5.0)
        for layer in (model.proposal_generator.rpn_head.anchor_deltas, model.roi_heads.box_predictor.bbox_pred):
            layer.weight.zero_()
            layer.bias.zero_()
    images = smooth_images(1, size=64, seed=4)
    predicted = segmenter.predict(images)[0]
    bgr = (images[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()[:, :, ::-1]
    panoptic, segments = network(bgr)["panoptic_seg"]
    assert {s["isthing"] for s in segments} == {True, False}
    for segment in segments:
        label = segment["category_id"] if segment["isthing"] else 80 + segment["category_id"] - 1
        assert 0 <= label < 133 and bool((predicted[panoptic == segment["id"]] == label).all())


# -- label ids outside the class table (issue 13, failure kind 9) ----------------------------------------------------

class ConstantSegmenter(Segmenter):
    """Predicts class 1 everywhere; no network (the check under test runs before any segmenting)."""

    def __init__(self, allow_uncalibrated: bool = False, device: str | None = None, batch_size: int = 8) -> None:
        super().__init__(batch_size)
        self.class_names = ["background", "road", "car"]

    @property
    def calibrated(self) -> bool:
        return True

    def settings(self) -> dict:
        return {"segmenter": "constant"}

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        return torch.ones(images.shape[0], *images.shape[-2:], dtype=torch.long)


def test_label_ids_outside_the_class_table_are_refused_with_their_pixel_count() -> None:
    SEGMENTERS.register("test_constant")(ConstantSegmenter)
    metric = create_metric("miou", segmenter="test_constant")
    labels = torch.ones(2, 10, 10, dtype=torch.long)
    labels[0, :, :5] = 40  # an id of a 151-class table in a 3-class one: 50 px
    labels[1, :4, :] = 7  # 40 px
    labels[1, 9, :] = IGNORE  # declared ignore id: not counted
    with pytest.raises(MetricInputError, match=r"^90 of 200 label pixels \(45\.0%\) hold ids outside the class "
                                               r"table of 3 classes \(identity\): 7, 40; only \[255\] are "
                                               r"ignored\n  fix: map those ids"):
        metric(torch.full((2, 3, 10, 10), 0.5), labels)
    with pytest.raises(MetricInputError) as info:
        metric(torch.full((2, 3, 10, 10), 0.5), labels)
    assert "miou.mapping=" in str(info.value.hint) and isinstance(info.value, BenchError)
    labels[labels != IGNORE] = 1
    assert metric(torch.full((2, 3, 10, 10), 0.5), labels).value == pytest.approx(1.0)  # 255 alone is ignored


def test_a_mapping_table_declares_extra_ignored_ids(tmp_path: Path) -> None:
    table = tmp_path / "mapping.csv"
    table.write_text("eval_id,name,target_ids,prediction_ids\n0,sky,10,3\n1,ground,11,5\nignore,void,0 1,\n")
    mapping = ClassMapping.from_csv(table)
    assert mapping.map_target(torch.tensor([0, 1, 10, 2])).tolist() == [IGNORE, IGNORE, 0, UNKNOWN]
    mapping.check_targets([torch.tensor([[0, 1, 10, 11, 255]])])  # all declared: no error
    plain = tmp_path / "plain.csv"
    plain.write_text("eval_id,name,target_ids,prediction_ids\n0,sky,10,3\n1,ground,11,5\n")
    assert mapping.settings()["class_mapping_hash"] != ClassMapping.from_csv(plain).settings()["class_mapping_hash"]
    before = settings_hash({"names": ["sky", "ground"], "target": [(10, 0), (11, 1)], "prediction": [(3, 0), (5, 1)]})
    assert ClassMapping.from_csv(plain).settings()["class_mapping_hash"] == before  # tables without a row: as before
