"""``gta2bdd`` (EGSC-IT Table 3): rows, the reference rows' cache by protocol hash, the recorded seeded pairing, the
stand-in naming, refusals, the reported rows and the figures. The segmenter-training kit is replaced by a fast fake
behind the same API (``gta2bdd_fake_kit``) so these tests check the protocol, not the segmenter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.config import compose_run
from bench.runner import build_protocol, execute
from core.columns import Column
from core.errors import BenchError, MissingWeightsError
from methods import METHODS, create_method
from protocols.base import Workspace
from protocols.gta2bdd import GTA2BDD, segment
from protocols.gta2bdd.data import make_pairing
from protocols.gta2bdd.reported import TABLE3
from tests.datasets.test_gta5_bdd100k import bdd_folder, gta_folder
from tests.protocols import gta2bdd_fake_kit as fake

MIOU, GAP = Column("miou", "A→B"), Column("gap_to_oracle", "A→B")
TINY = ["protocol.samples.smoke.train_a=6", "protocol.samples.smoke.train_b=5", "protocol.samples.smoke.val=4"]


@pytest.fixture(autouse=True)
def fake_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment, "kit", lambda: fake)
    fake.CALLS.clear()


def built(*overrides: str) -> GTA2BDD:
    cfg = compose_run(["protocol=gta2bdd", "scale=smoke", "allow_uncalibrated=true", *TINY, *overrides])
    protocol = build_protocol(cfg)
    protocol.prepare()
    assert isinstance(protocol, GTA2BDD)
    return protocol


def workspace(tmp: Path) -> Workspace:
    return Workspace(results=tmp / "results", checkpoints=tmp / "results" / "checkpoints", progress=False)


def test_reference_rows_exist_with_their_gap_and_checkpoint_folders(tmp_path: Path) -> None:
    protocol = built()
    protocol.workspace = workspace(tmp_path)
    rows = protocol.reference_results()
    assert list(rows) == ["source", "exact_translation", "oracle"]
    miou = {row: r.values[MIOU].value for row, r in rows.items()}
    assert rows["oracle"].values[GAP].value == 0.0
    for row, result in rows.items():
        assert result.values[GAP].value == pytest.approx(miou[row] - miou["oracle"])
        assert result.values[MIOU].extra["protocol_hash"] and len(result.values[MIOU].extra["per_class_iou"]) == 19
        assert 0.0 <= miou[row] <= 1.0
    folder = tmp_path / "results" / "checkpoints" / "gta2bdd" / "segmenters" / protocol.protocol_hash()
    assert [c["checkpoint_dir"] for c in fake.CALLS] == [folder / f"{r}-seed0" for r in ("oracle", "source",
                                                                                          "exact_translation")]
    assert [c["n"] for c in fake.CALLS] == [5, 6, 6]  # B train, then A twice (raw, exact translations)


def test_reference_rows_are_cached_by_protocol_hash_and_recomputed_on_a_setting_change(tmp_path: Path) -> None:
    first = built()
    first.workspace = workspace(tmp_path)
    before = {row: r.values[MIOU].value for row, r in first.reference_results().items()}
    assert len(fake.CALLS) == 3
    cached = list((tmp_path / "results" / "protocol_cache" / "gta2bdd").glob(f"{first.protocol_hash()}-*.npz"))
    assert sorted(p.name.split("-", 1)[1] for p in cached) == sorted(f"{r}-seed0.npz" for r in before)

    again = built()  # a new run, same settings: read from disk, nothing trained
    again.workspace = workspace(tmp_path)
    assert {row: r.values[MIOU].value for row, r in again.reference_results().items()} == before
    assert len(fake.CALLS) == 3 and again.segmenters.trained == 0

    changed = built("protocol.segmenter.smoke.iterations=7")  # the schedule is a setting: new hash, recomputed
    changed.workspace = workspace(tmp_path)
    assert changed.protocol_hash() != first.protocol_hash()
    changed.reference_results()
    assert len(fake.CALLS) == 6 and changed.segmenters.trained == 3
    assert all(c["schedule"].iterations == 7 for c in fake.CALLS[3:])


def test_a_method_row_is_scored_against_the_oracle_and_checkpointed_under_its_run_key(tmp_path: Path) -> None:
    protocol = built()
    protocol.workspace = workspace(tmp_path)
    protocol.run_key = "colour_transfer-abc123"
    result = protocol.evaluate(create_method("colour_transfer"))
    oracle = protocol.reference_results()["oracle"].values[MIOU].value
    assert result.values[GAP].value == pytest.approx(result.values[MIOU].value - oracle)
    method_call = fake.CALLS[0]
    assert method_call["checkpoint_dir"] == (tmp_path / "results" / "checkpoints" / "gta2bdd" / "segmenters"
                                             / protocol.protocol_hash() / "colour_transfer-abc123")
    assert method_call["n"] == 6  # every A image translated once
    assert result.samples["AB"].shape == (4, 3, 32, 64) and result.samples["prediction"].shape == (4, 32, 64)


def test_the_pairing_is_seeded_recorded_and_part_of_the_hash(tmp_path: Path) -> None:
    a, b = built(), built()
    assert np.array_equal(a.data.pairing, b.data.pairing) and a.data.pairing.max() < 5
    assert a.metric_settings()["pairing"] == {"seed": 0, "sha256": a.data.pairing_sha256(),
                                              "rule": a.metric_settings()["pairing"]["rule"]}
    other = built("protocol.pairing_seed=3")
    assert not np.array_equal(other.data.pairing, a.data.pairing)
    assert other.protocol_hash() != a.protocol_hash()
    assert np.array_equal(make_pairing(6, 5, 3), other.data.pairing)
    a.workspace = workspace(tmp_path)
    files = {p.name: p for p in a.write_figures({}, tmp_path / "figs")}
    lines = files["pairing.csv"].read_text().splitlines()
    assert lines[0] == "a_index,a_name,b_index,b_name" and len(lines) == 7
    assert [int(line.split(",")[2]) for line in lines[1:]] == a.data.pairing.tolist()
    assert {"translations.png", "predictions.png", "per_class_iou.csv"} <= set(files)
    per_class = files["per_class_iou.csv"].read_text().splitlines()
    assert per_class[0].split(",")[:3] == ["row", "miou", "road"] and len(per_class) == 4


def test_the_stand_in_is_named_and_the_reported_rows_carry_the_caveat() -> None:
    protocol = built()
    assert protocol.provenance is not None and protocol.provenance.source == "streets"
    assert "NOT GTA5/BDD100K" in protocol.provenance.stand_in
    assert "NOT GTA5 → BDD100K" in GTA2BDD.data_sources()[0]
    rows = protocol.reported()
    assert {(r.method, r.metric): r.value for r in rows}[("egscit", "miou")] == 0.343
    assert {r.method for r in rows} == set(TABLE3) and all("real GTA5/BDD100K, not streets" in r.source for r in rows)
    assert all(r.value == pytest.approx(TABLE3[r.method][0] - 0.448, abs=1e-9)
               for r in rows if r.metric == "gap_to_oracle")


def test_refusals() -> None:
    assert GTA2BDD.refusal(METHODS.get("munit")) is None  # both directions: fine, only A→B is used
    assert GTA2BDD.refusal(METHODS.get("egscit")) is None
    assert "paired" in (GTA2BDD.refusal(METHODS.get("pix2pix")) or "")
    assert "paired" in (GTA2BDD.refusal(METHODS.get("spade")) or "")  # label maps → photo: not this task
    with pytest.raises(BenchError, match=r"data\.root"):
        built("data.source=gta5+bdd100k")
    with pytest.raises(BenchError, match="gta5/"):
        built(f"data.root={Path(__file__).parent}")


def test_without_the_kit_the_protocol_says_which_branch_adds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_kit(name: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if name == "protocols" and args and args[2] and "segmentation_training" in args[2]:
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.undo()
    monkeypatch.setattr(builtins, "__import__", no_kit)
    with pytest.raises(BenchError, match="segmenter-training kit"):
        segment.kit()


def test_real_data_goes_through_the_readers_as_train_ids(tmp_path: Path) -> None:
    """GTA5 label ids → train ids (road 7 → 0, sky 23 → 10, bicycle 33 → 18, void → 255) and BDD100K masks as
    stored (unknown ids → 255) survive the protocol's nearest resize; no stand-in caveat, no exact row."""
    gta_folder(tmp_path / "gta5")
    bdd_folder(tmp_path / "bdd100k", "train")
    bdd_folder(tmp_path / "bdd100k", "val", n=2)
    protocol = built(f"data.root={tmp_path}", "protocol.samples.smoke.train_a=4", "protocol.samples.smoke.train_b=3",
                     "protocol.samples.smoke.val=2")
    d = protocol.data
    assert protocol.provenance is not None and protocol.provenance.source == "gta5+bdd100k"
    assert protocol.provenance.stand_in == "" and d.exact is None
    assert d.a_images.shape == (4, 32, 64, 3) and set(np.unique(d.a_labels)) == {0, 10, 18, 255}
    assert d.a_labels[0, -1, -1] == 0 and d.a_labels[0, 5, 30] == 10  # road below, sky above
    assert set(np.unique(d.val_labels)) == set(range(19)) | {255}
    assert all(r.source == "EGSC-IT (ICLR 2019) Table 3" for r in protocol.reported())
    assert list(protocol.reference_results()) == ["source", "oracle"]
    with pytest.raises(BenchError, match="only 3 items"):
        built(f"data.root={tmp_path}", "protocol.samples.smoke.train_a=4")


def test_a_bench_run_prints_method_and_reference_rows_and_the_next_run_reads_the_cache(tmp_path: Path) -> None:
    """Through the runner: the protocol gets a workspace and each method's row key; reference rows are computed in
    the first run and read back (no segmenter trained) by a second run under the same protocol hash."""
    def run() -> list:  # type: ignore[type-arg]
        cfg = compose_run(["protocol=gta2bdd", "scale=smoke", "allow_uncalibrated=true", "progress=false",
                           "tracking.enabled=false", f"paths.results={tmp_path}",
                           "methods=[input_copy,colour_transfer]", *TINY])
        return execute(cfg).rows

    rows = run()
    ours = {(r.method, r.metric): r.value for r in rows if r.status == "ok"}
    assert {m for m, _ in ours} == {"input_copy", "colour_transfer", "source", "exact_translation", "oracle"}
    assert ours[("oracle", "gap_to_oracle")] == 0.0
    assert {r.method for r in rows if r.status == "reported"} == set(TABLE3)
    segmenters = sorted(p.name for p in (tmp_path / "checkpoints" / "gta2bdd" / "segmenters").glob("*/*"))
    assert len(segmenters) == 5 and {s.split("-")[0] for s in segmenters} == {"input_copy", "colour_transfer",
                                                                               "source", "exact_translation", "oracle"}
    trained = len(fake.CALLS)
    assert trained == 5
    again = {(r.method, r.metric): r.value for r in run() if r.status == "ok"}
    assert again == ours and len(fake.CALLS) == trained + 2  # only the two method rows train again (resume)


def test_missing_segmenter_weights_stop_the_protocol_before_any_method_trains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from protocols import segmentation_training

    monkeypatch.setattr(segment, "kit", lambda: segmentation_training)  # the real kit
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "none"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "none"))
    paper_arch = ["protocol.segmenter.smoke.arch=deeplabv2_resnet101"]
    with pytest.raises(MissingWeightsError, match="resnet101"):
        built(*paper_arch, "allow_uncalibrated=false")
    protocol = built(*paper_arch, "allow_uncalibrated=true")  # the opt-in: every row says uncalibrated
    assert not protocol.calibrated
    assert built().calibrated  # the small segmenter needs no weights


def test_runs_started_at_once_train_a_reference_row_once(tmp_path: Path) -> None:
    """Two runs on one results folder (threads here: each opens the lock file itself, as a process would) ask for
    the same reference row at once: one trains it under the lock, the other waits and reads the cache."""
    import threading
    import time

    calls: list[int] = []
    row = segment.RowScores(np.arange(19 * 20).reshape(19, 20), np.zeros((1, 2, 2), np.uint8), True)

    def train() -> segment.RowScores:
        calls.append(1)
        time.sleep(0.3)  # long enough for the other caller to reach the lock while this one trains
        return row

    results: list[segment.RowScores] = []

    def ask() -> None:
        segmenters = segment.Segmenters({}, seed=0, allow_uncalibrated=True, keep=1)
        results.append(segmenters.reference("oracle", "abc123", workspace(tmp_path), train))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 2 and all(np.array_equal(r.confusion, row.confusion) for r in results)
    assert (tmp_path / "results" / "protocol_cache" / "gta2bdd" / "abc123-oracle-seed0.npz").is_file()


@pytest.mark.parametrize(("override", "expected"), [
    ("protocol.layout_shift=abc", "protocol.layout_shift='abc' is not a number"),
    ("protocol.pairing_seed=-1", "protocol.pairing_seed=-1 is below its minimum 0"),
    ("protocol.batch_size=2.5", "protocol.batch_size=2.5 is not an integer"),
    ("protocol.grid_rows=0", "protocol.grid_rows=0 is below its minimum 1"),
])
def test_a_bad_setting_value_is_one_line_naming_the_key(override: str, expected: str) -> None:
    """A value of the wrong kind (or out of range) is a ``BenchError`` naming the key and the fix, not a numpy or
    ``float()`` traceback from deep inside the data construction."""
    with pytest.raises(BenchError, match=expected.replace(".", r"\.")) as caught:
        built(override)
    assert caught.value.hint.startswith("protocol.")
