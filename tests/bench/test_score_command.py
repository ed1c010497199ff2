"""``python -m bench score``: results against scikit-image on image folders, the JSON it writes, the uncalibrated
opt-in, and clear errors for every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.__main__ import main as bench_main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def write_pairs(root: Path, n: int = 5, size: int = 32, seed: int = 0, real_suffix: str = ".png") -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    fake, real = root / "fake", root / "real"
    fake.mkdir(parents=True, exist_ok=True)
    real.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = rng.integers(0, 256, (size // 4, size // 4, 3)).astype(np.uint8)
        image = np.asarray(Image.fromarray(base).resize((size, size), Image.BICUBIC))
        noisy = np.clip(image.astype(int) + rng.integers(-40, 41, image.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(real / f"{i:03d}{real_suffix}")
        Image.fromarray(noisy).save(fake / f"{i:03d}.png")
    return fake, real


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = bench_main(["score", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255


def test_ssim_and_psnr_match_scikit_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path, real_suffix=".bmp")  # paired by name, not by extension
    out = tmp_path / "score.json"
    code, stdout, _ = run(capsys, "metrics=[ssim,psnr]", f"fake={fake}", f"real={real}", f"out={out}")
    assert code == 0 and "ssim" in stdout and "psnr" in stdout and str(out) in stdout
    results = {r["metric"]: r for r in json.loads(out.read_text())["results"]}
    pairs = [(load(fake / f"{i:03d}.png"), load(real / f"{i:03d}.bmp")) for i in range(5)]
    ssim = [structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=1.0, channel_axis=-1) for a, b in pairs]
    psnr = [peak_signal_noise_ratio(b, a, data_range=1.0) for a, b in pairs]
    assert results["ssim"]["value"] == pytest.approx(np.mean(ssim), abs=1e-4)
    assert results["ssim"]["std"] == pytest.approx(np.std(ssim), abs=1e-4)
    assert results["psnr"]["value"] == pytest.approx(np.mean(psnr), abs=1e-4)
    assert results["ssim"]["n"] == 5 and results["ssim"]["calibrated"] is True
    assert results["ssim"]["protocol_hash"] and results["ssim"]["settings"]["sigma"] == 1.5


def test_missing_pairs_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path)
    (real / "003.png").unlink()
    code, _, err = run(capsys, "metrics=[ssim]", f"fake={fake}", f"real={real}")
    assert code == 2 and "missing pairs" in err and "003" in err and "file name" in err


def test_size_mismatch_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path)
    Image.new("RGB", (40, 32)).save(real / "002.png")
    code, _, err = run(capsys, "metrics=[psnr]", f"fake={fake}", f"real={real}")
    assert code == 2 and "size mismatch" in err and "002" in err


def test_unreadable_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path)
    (fake / "001.png").write_bytes(b"not an image")
    code, _, err = run(capsys, "metrics=[ssim]", f"fake={fake}", f"real={real}")
    assert code == 2 and "cannot read image" in err and "001.png" in err


def test_wrong_value_range_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path)
    (fake / "000.png").unlink()
    np.save(fake / "000.npy", np.random.default_rng(0).uniform(-1, 1, (32, 32, 3)).astype(np.float32))
    code, _, err = run(capsys, "metrics=[ssim]", f"fake={fake}", f"real={real}")
    assert code == 2 and "[0,1]" in err and "(x + 1) / 2" in err


def test_unknown_metric_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path, n=1)
    code, _, err = run(capsys, "metrics=[sssim]", f"fake={fake}", f"real={real}")
    assert code == 2 and "valid metrics" in err and "ssim" in err
    code, _, err = run(capsys, "metrics=[ssim]", f"fake={fake}", f"real={real}", "colour=rgb")
    assert code == 2 and "unknown keys" in err


@pytest.mark.parametrize(("metric", "filename"), [("lpips", "alexnet-owt-7be5be79.pth"),
                                                  ("fid", "pt_inception-2015-12-05-6726825d.pth"),
                                                  ("kid", "pt_inception-2015-12-05-6726825d.pth")])
def test_network_metrics_without_weights_fail_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              metric: str, filename: str) -> None:
    fake, real = write_pairs(tmp_path, n=2)
    code, _, err = run(capsys, f"metrics=[{metric}]", f"fake={fake}", f"real={real}")
    assert code == 2 and filename in err and "python -m bench weights download" in err


def test_uncalibrated_opt_in_runs_and_says_so_everywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write_pairs(tmp_path, n=6)
    out = tmp_path / "score.json"
    code, stdout, _ = run(capsys, "metrics=[lpips,fid,ssim]", f"fake={fake}", f"real={real}", f"out={out}",
                          "allow_uncalibrated=true", "device=cpu", "fid.dims=64", "fid.kid_subsets=5")
    assert code == 0
    assert "UNCALIBRATED" in stdout and "NO (UNCALIBRATED)" in stdout
    payload = json.loads(out.read_text())
    results = {r["metric"]: r for r in payload["results"]}
    assert payload["calibrated"] is False
    assert set(results) == {"lpips", "fid", "kid", "ssim"}  # KID reported beside the small-sample FID
    for name in ("lpips", "fid", "kid"):
        assert results[name]["calibrated"] is False and results[name]["status"] == "uncalibrated"
        assert results[name]["settings"]["weights_sha256"].startswith("random-init")
        assert any(w.startswith("uncalibrated") for w in results[name]["warnings"])
    assert results["ssim"]["calibrated"] is True
    assert any("< 2048" in w for w in results["fid"]["warnings"])
    assert results["fid"]["settings"]["n_fake"] == 6 and results["fid"]["extra"]["real_data_hash"].startswith("files-")


def test_exemplar_diversity_and_segmentation_layouts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, exemplar = write_pairs(tmp_path, n=3, size=48)
    out = tmp_path / "style.json"
    code, _, err = run(capsys, "metrics=[style_relevance]", f"fake={fake}", f"out={out}", "allow_uncalibrated=true")
    assert code == 2 and "exemplar=DIR" in err
    code, _, err = run(capsys, "metrics=[style_relevance]", f"fake={fake}", f"exemplar={exemplar}", f"out={out}",
                       "allow_uncalibrated=true", "device=cpu")
    assert code == 2 and "style_relevance.regions=whole_image" in err  # folders carry no label maps
    code, _, _ = run(capsys, "metrics=[style_relevance]", f"fake={fake}", f"exemplar={exemplar}", f"out={out}",
                     "allow_uncalibrated=true", "device=cpu", "style_relevance.regions=whole_image")
    names = [r["metric"] for r in json.loads(out.read_text())["results"]]
    assert code == 0 and names == ["style_relevance_colour", "style_relevance_texture"]

    groups = tmp_path / "groups"
    for g in range(2):
        (groups / f"input{g}").mkdir(parents=True)
        for k in range(3):
            Image.open(fake / f"00{k}.png").rotate(90 * g).save(groups / f"input{g}" / f"{k}.png")
    code, _, _ = run(capsys, "metrics=[lpips_diversity]", f"fake={groups}", f"out={out}", "allow_uncalibrated=true",
                     "device=cpu")
    (diversity,) = json.loads(out.read_text())["results"]
    assert code == 0 and diversity["n"] == 2 and diversity["direction"] == "higher"

    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(3):
        Image.fromarray(np.full((48, 48), i, dtype=np.uint8), mode="L").save(labels / f"{i:03d}.png")
    code, _, _ = run(capsys, "metrics=[miou]", f"fake={fake}", f"labels={labels}", f"out={out}",
                     "allow_uncalibrated=true", "device=cpu", "miou.variant=mobilenet_v3_large",
                     "miou.resize=64")
    names = [r["metric"] for r in json.loads(out.read_text())["results"]]
    assert code == 0 and names == ["miou", "pixel_accuracy", "mean_class_accuracy"]


def write_labels(root: Path, names: list[str], size: int = 48) -> Path:
    """Label maps named as the fake images: image i is class i in its left half and class 0 in its right half."""
    labels = root / "labels"
    labels.mkdir()
    for i, name in enumerate(names):
        label = np.zeros((size, size), dtype=np.uint8)
        label[:, : size // 2] = i
        Image.fromarray(label, mode="L").save(labels / f"{name}.png")
    return labels


def test_segmentation_reads_label_maps_paired_by_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    from metrics import METRICS

    assert METRICS.get("miou").inputs == "images+labels"
    fake, _ = write_pairs(tmp_path, n=3, size=48)
    labels = write_labels(tmp_path, ["002", "000", "001"])  # written out of order: paired by name
    out = tmp_path / "seg.json"
    code, stdout, _ = run(capsys, "metrics=[miou]", f"fake={fake}", f"labels={labels}", f"out={out}",
                          "allow_uncalibrated=true", "device=cpu", "miou.variant=mobilenet_v3_large",
                          "miou.resize=64")
    payload = json.loads(out.read_text())
    miou = payload["results"][0]
    assert code == 0 and "miou" in stdout and payload["labels"] == str(labels)
    assert miou["n"] == 3 and miou["extra"]["pixels"] == 3 * 48 * 48
    per_target = np.asarray(json.loads(miou["extra"]["confusion"])).sum(axis=1)  # rows: the label maps' classes
    half = 48 * 24
    assert per_target[:3].tolist() == [3 * half + half, half, half] and per_target[3:].sum() == 0


@pytest.mark.parametrize("labels", [None, "nowhere"])
def test_a_missing_labels_folder_names_the_key_and_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           labels: str | None) -> None:
    fake, _ = write_pairs(tmp_path, n=2)
    extra = [] if labels is None else [f"labels={tmp_path / labels}"]
    code, stdout, err = run(capsys, "metrics=[miou]", f"fake={fake}", *extra, "allow_uncalibrated=true",
                            "device=cpu", "miou.variant=mobilenet_v3_large")
    lines = err.strip().splitlines()
    assert code == 2 and not stdout and "Traceback" not in err
    assert lines[0].startswith("error: ") and "labels" in lines[0] and "miou" in lines[0]
    assert len(lines) == 2 and lines[1].strip().startswith("fix: pass labels=") and "label PNGs" in lines[1]


def test_every_input_kind_a_metric_declares_has_a_reader() -> None:
    from bench.commands.score import READERS
    from metrics import METRICS
    from metrics.base import INPUT_KINDS

    assert set(READERS) == set(INPUT_KINDS)
    assert {name: cls.inputs for name, cls in METRICS.items()}.items() >= {
        "ssim": "pairs", "lpips": "pairs", "style_relevance": "pairs", "fid": "sets", "swd": "sets",
        "lpips_diversity": "groups", "miou": "images+labels"}.items()
