"""``bench score`` on inputs a metric cannot score: exit 2 and one ``error:`` line plus its ``fix:`` line, no
traceback (issue 13, failure kind 1); and the degenerate inputs of kinds 3, 4 and 9 as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.__main__ import main as bench_main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache"))


def write(folder: Path, n: int, size: int, seed: int = 0, flat: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        pixels = np.full((size, size, 3), 128, np.uint8) if flat else rng.integers(0, 256, (size, size, 3), np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:03d}.png")
    return folder


def score(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> tuple[int, str, str]:
    code = bench_main(["score", *args, f"out={tmp_path / 'score.json'}", "allow_uncalibrated=true", "device=cpu"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("metrics", "n_fake", "n_real", "size", "options", "message", "fix"), [
    ("ssim", 2, 2, 8, [], "SSIM: images of 8×8 are smaller than the 11-tap SSIM window", "ssim.window=7"),
    ("lpips", 2, 2, 16, [], "LPIPS(alex): images of 16×16 are smaller than 31 px", "lpips.net=vgg"),
    ("[fid,kid]", 1, 1, 32, ["fid.dims=64"], "FID/KID need at least 2 images per set", "give both sets"),
    ("swd", 2, 3, 16, [], "SWD needs as many generated as real images", "score 2 images of each set"),
])
def test_metric_input_problems_exit_2_with_one_line_and_the_fix(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], metrics: str, n_fake: int, n_real: int, size: int,
        options: list[str], message: str, fix: str) -> None:
    fake, real = write(tmp_path / "fake", n_fake, size), write(tmp_path / "real", n_real, size, seed=1)
    code, _, err = score(capsys, tmp_path, f"metrics={metrics}", f"fake={fake}", f"real={real}", *options)
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err
    assert len(lines) == 2 and lines[0].startswith(f"error: {message}") and lines[1].startswith("  fix: ")
    assert fix in lines[1]


def test_kid_below_its_subset_size_states_the_subset_in_the_table(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write(tmp_path / "fake", 8, 32), write(tmp_path / "real", 8, 32, seed=1)
    code, out, _ = score(capsys, tmp_path, "metrics=[kid]", f"fake={fake}", f"real={real}", "kid.dims=64",
                         "kid.subsets=10")
    (kid,) = json.loads((tmp_path / "score.json").read_text())["results"]
    assert code == 0 and kid["settings"]["effective_subset_size"] == 4 and kid["std"] > 0
    row = next(line for line in out.splitlines() if line.startswith("kid "))
    assert "KID subsets of 4, not 1000 (only 8 samples in the smaller set)" in row


def test_swd_of_a_flat_generator_prints_a_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, real = write(tmp_path / "fake", 2, 16, flat=True), write(tmp_path / "real", 2, 16, seed=1)
    code, out, _ = score(capsys, tmp_path, "metrics=[swd]", f"fake={fake}", f"real={real}")
    (swd,) = json.loads((tmp_path / "score.json").read_text())["results"]
    assert code == 0 and isinstance(swd["value"], float) and swd["value"] > 0
    row = next(line for line in out.splitlines() if line.startswith("swd "))
    assert "generated set flat (no variation) in 3 channel(s) at 16 px" in row and "nan" not in row.lower()


def test_label_ids_outside_the_class_table_exit_2_with_their_count(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    fake = write(tmp_path / "fake", 1, 10)
    label = np.zeros((10, 10), np.uint8)
    label[:, :5] = 40  # 50 of 100 pixels: an ADE20K id in the 21-class VOC table of DeepLabV3
    (tmp_path / "labels").mkdir()
    Image.fromarray(label, mode="L").save(tmp_path / "labels" / "000.png")
    code, _, err = score(capsys, tmp_path, "metrics=[miou]", f"fake={fake}", f"labels={tmp_path / 'labels'}",
                         "miou.variant=mobilenet_v3_large", "miou.resize=64")
    assert code == 2 and "Traceback" not in err
    assert "error: 50 of 100 label pixels (50.0%) hold ids outside the class table of 21 classes" in err
