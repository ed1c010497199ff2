"""CoCosNet's protocols (``ade20k``, ``ade20k_outdoor``, ``celebahq_edge``, ``deepfashion``): the training-data
contract, refusals, retrieval, reported numbers, the save format in the hash, and the real sample folders (skipped
when ``../shared/data/cocosnet_samples`` is absent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from bench.config import compose_run
from bench.runner import build_protocol
from methods import METHODS, create_method
from methods.base import Capabilities, Method
from protocols import PROTOCOLS, Protocol
from protocols.cocosnet.reported import reported_rows
from protocols.cocosnet.retrieval import class_mean_render, class_means, ranked_lists, same_person

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "cocosnet_samples"
NAMES = ["ade20k", "ade20k_outdoor", "celebahq_edge", "deepfashion"]


def built(name: str, *extra: str) -> Protocol:
    cfg = compose_run([f"protocol={name}", "scale=smoke", "allow_uncalibrated=true", "protocol.samples.smoke.train=4",
                       "protocol.samples.smoke.test=3", *extra])
    protocol = build_protocol(cfg)
    protocol.prepare()
    return protocol


class _TakesInputNC(Method):
    capabilities = Capabilities(training="paired", guidance="exemplar", directions="AB", needs_label_maps=True)
    defaults: ClassVar[dict[str, Any]] = {"input_nc": 3}

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return exemplar


@pytest.mark.parametrize("name", NAMES)
def test_refusals_say_why_the_content_does_not_fit(name: str) -> None:
    cls = PROTOCOLS.get(name)
    assert cls.refusal(METHODS.get("exemplar_copy")) is None and cls.refusal(_TakesInputNC) is None
    for method in ("munit", "egscit", "input_copy", "colour_transfer"):
        assert "translates RGB images" in cls.refusal(METHODS.get(method))  # type: ignore[operator]
    spade_vae = cls.refusal(METHODS.get("spade_vae"))
    assert (spade_vae is None) == (cls.encoding == "one_hot")
    assert spade_vae is None or "no input_nc parameter" in spade_vae


def test_deepfashion_stand_in_training_data_follows_the_contract() -> None:
    protocol = built("deepfashion")
    data = protocol.train_data()
    assert data.kind == "paired" and len(data.a) == len(data.b) == 4
    a, b = data.a[0], data.b[0]
    assert a["input"].shape == (20, 64, 64) and a["input"].dtype == torch.float32
    assert a["label_map"].shape == (64, 64) and a["label_map"].dtype == torch.int64
    assert b["image"].shape == (3, 64, 64) and 0 <= b["image"].min() <= b["image"].max() <= 1
    meta = data.meta
    assert (meta["input_nc"], meta["label_nc"], meta["dataset"]) == (20, 8, "deepfashion")
    lists = meta["exemplar_lists"]
    assert lists.shape == (4, 3) and lists.dtype == np.int64
    assert all(i not in row and len(set(row)) == 3 for i, row in enumerate(lists))
    pairs = meta["same_person"]  # items 2, 3 are items 0, 1 reposed (FiguresWorld.self_pair)
    assert pairs.tolist() == [2, 3, 0, 1]
    names = protocol.data.train.names
    assert names[2].startswith(names[0]) and names[2].endswith("-pose1")
    assert protocol.method_settings() == {"input_nc": 20, "label_nc": 8, "dataset": "deepfashion"}


def test_stand_in_exemplars_come_from_training_and_the_oracle_is_their_exact_translation() -> None:
    protocol = built("ade20k")
    ld = protocol.data
    assert ld.source == "scenes" and protocol.method_settings()["input_nc"] == 17  # 16 classes + don't-care
    assert all(name.startswith("scenes-train-") for name in ld.refs.names)
    assert ld.exact is not None and ld.exact.shape == (3, 64, 64, 3)
    result = protocol.evaluate(create_method("exemplar_copy")).values
    oracle = protocol.evaluate(protocol.oracle()).values  # type: ignore[arg-type]
    for metric in ("exemplar_fidelity_colour", "exemplar_fidelity_texture", "lpips_exact"):
        assert abs(oracle[(metric, "A→B")].value) < 1e-6 < result[(metric, "A→B")].value
    assert "scenes" in protocol.reported()[0].source  # the paper's rows say they are not comparable


def test_the_fid_save_format_is_in_the_protocol_hash() -> None:
    jpeg = PROTOCOLS.get("celebahq_edge")(**built_args("celebahq_edge"))
    png = PROTOCOLS.get("celebahq_edge")(**built_args("celebahq_edge", "protocol.fid.save_format=png"))
    assert jpeg.fid_outputs.save_format == "jpeg" and png.fid_outputs.save_format == "png"  # type: ignore[attr-defined]
    assert jpeg.fid_outputs.settings() != png.fid_outputs.settings()  # type: ignore[attr-defined]


def built_args(name: str, *extra: str) -> dict[str, Any]:
    from omegaconf import OmegaConf

    cfg = compose_run([f"protocol={name}", "scale=smoke", *extra])
    return {"settings": OmegaConf.to_container(cfg.protocol, resolve=True),
            "data": OmegaConf.to_container(cfg.data, resolve=True),
            "scale": OmegaConf.to_container(cfg.scale, resolve=True), "seed": 0, "allow_uncalibrated": True}


def test_retrieval_ranks_by_cosine_and_pairs_people_by_folder_and_item() -> None:
    emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.6, 0.4]]).double(),
                                        dim=1)
    assert ranked_lists(emb, 2).tolist() == [[1, 3], [0, 3], [3, 1], [1, 0]]
    names = ["img/W/Dresses/id_1/02_1_front.jpg", "img/W/Dresses/id_1/02_2_side.jpg",
             "img/W/Dresses/id_1/03_1_front.jpg", "img/W/Tees/id_2/02_1_front.jpg"]
    assert same_person(names).tolist() == [1, 0, -1, -1]
    labels = np.array([[[0, 1], [1, 255]]], np.uint8)
    images = np.array([[[[10, 20, 30], [100, 100, 100]], [[200, 200, 200], [7, 7, 7]]]], np.uint8)
    means = class_means(images, labels, 2)
    assert means[0].tolist() == [10, 20, 30] and means[1].tolist() == [150, 150, 150]
    query = class_mean_render(labels, means)
    assert query.shape == (1, 3, 2, 2) and query[0, :, 1, 0].tolist() == pytest.approx([150 / 255] * 3)


def test_reported_rows_are_the_papers_numbers() -> None:
    def value(protocol: str, method: str, metric: str, table: int) -> float:
        rows = [r for r in reported_rows(protocol) if (r.method, r.metric) == (method, metric)
                and r.source.endswith(f"Table {table}")]
        assert len(rows) == 1, (protocol, method, metric)
        return rows[0].value

    assert value("ade20k", "cocosnet", "fid", 1) == 26.4 and value("ade20k", "cocosnet", "swd", 1) == 10.5
    assert value("ade20k_outdoor", "sims", "fid", 1) == 67.7 and value("ade20k_outdoor", "sims",
                                                                        "semantic_consistency", 2) == 0.822
    assert value("deepfashion", "pix2pixhd", "swd", 1) == 16.4
    assert value("celebahq_edge", "egscit", "style_relevance_texture", 3) == 0.942
    assert value("celebahq_edge", "cocosnet_no_perc", "fid", 4) == 59.3
    assert not [r for r in reported_rows("ade20k_outdoor") if r.metric.startswith("style_relevance")]
    assert not [r for r in reported_rows("ade20k") if r.method == "sims"]  # N/A in the paper


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/cocosnet_samples is absent")
@pytest.mark.parametrize("name, folder", [("ade20k", "ade20k"), ("deepfashion", "DeepFashion")])
def test_real_samples_use_the_published_test_pairs(name: str, folder: str) -> None:
    protocol = built(name, f"data.root={SAMPLES / folder}")
    ld = protocol.data
    listed = (SAMPLES / "lists" / f"{name}_ref_test.txt").read_text().splitlines()
    expected = [tuple(Path(p.replace("\\", "/")).stem if name == "ade20k" else p.replace("\\", "/")
                      for p in line.split(",")[:2]) for line in listed][:3]
    assert list(zip(ld.test.names, ld.refs.names, strict=True)) == expected
    assert ld.exact is None and protocol.oracle() is None
    values = protocol.evaluate(create_method("exemplar_copy")).values
    assert {c[0] for c in values} - {"kid"} == {"fid", "swd", "semantic_consistency", "style_relevance_colour",
                                                "style_relevance_texture"}  # no exact columns on real data
    if name == "deepfashion":  # no label maps: whole images, and the output is its exemplar
        assert values[("style_relevance_colour", "A→B")].value == pytest.approx(1.0, abs=1e-6)
