"""``bench score`` types command-line values by what the metric declares, not by YAML (issue 13, failure kind 2),
and warns once per folder about transparent images, in the terminal and in the JSON (failure kind 8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.__main__ import main as bench_main
from bench.commands.score import _options, parse_args
from bench.options import typed
from metrics import METRICS


def test_options_are_typed_by_the_metric_constructor_not_yaml() -> None:
    cfg = parse_args(["metrics=[lpips]", "lpips.lpips_version=0.1", "fake=0100", "real=1e3", "batch_size=4"])
    assert cfg["fake"] == "0100" and cfg["real"] == "1e3" and cfg["batch_size"] == 4  # not 64, not 1000.0
    assert _options(METRICS.get("lpips"), "lpips", cfg["lpips"]) == {"lpips_version": "0.1"}
    typed_ssim = _options(METRICS.get("ssim"), "ssim", {"window": "7", "sigma": "1", "gaussian": "false"})
    assert typed_ssim == {"window": 7, "sigma": 1.0, "gaussian": False}
    assert type(typed_ssim["sigma"]) is float
    assert typed("[relu1_1, relu2_1]", tuple[str, ...], "k") == ("relu1_1", "relu2_1")
    assert typed("null", tuple[float, ...] | None, "k") is None


def test_a_folder_named_0100_is_read_as_that_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for folder in ("0100", "0200"):
        Path(folder).mkdir()
    for i in range(2):
        image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(image).save(f"0100/{i}.png")
        Image.fromarray(255 - image).save(f"0200/{i}.png")
    code = bench_main(["score", "metrics=[psnr]", "fake=0100", "real=0200", "out=out.json"])
    assert code == 0, capsys.readouterr().err
    assert json.loads(Path("out.json").read_text())["fake"] == "0100"


def test_bad_option_values_and_names_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_main(["score", "metrics=[ssim]", f"fake={tmp_path}", f"real={tmp_path}", "ssim.window=seven"])
    err = capsys.readouterr().err
    assert code == 2 and "ssim.window=seven: expected an integer" in err and "Traceback" not in err
    code = bench_main(["score", "metrics=[ssim]", f"fake={tmp_path}", f"real={tmp_path}", "ssim.windw=7"])
    err = capsys.readouterr().err
    assert code == 2 and "no option 'windw'" in err and "window" in err


def test_rgba_outputs_are_composited_on_white_and_warned_once(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(2)
    fake, real = tmp_path / "fake", tmp_path / "real"
    fake.mkdir()
    real.mkdir()
    for i in range(3):
        rgba = rng.integers(0, 256, (24, 24, 4), dtype=np.uint8)
        rgba[..., 3] = np.where(rng.random((24, 24)) < 0.5, 0, 255)  # half transparent over random colours
        on_white = np.where(rgba[..., 3:] == 0, 255, rgba[..., :3]).astype(np.uint8)
        Image.fromarray(rgba, "RGBA").save(fake / f"{i}.png")
        Image.fromarray(on_white).save(real / f"{i}.png")
    out = tmp_path / "score.json"
    code = bench_main(["score", "metrics=[ssim,psnr]", f"fake={fake}", f"real={real}", f"out={out}"])
    stdout = capsys.readouterr().out
    assert code == 0
    payload = json.loads(out.read_text())
    results = {r["metric"]: r for r in payload["results"]}
    assert results["ssim"]["value"] == pytest.approx(1.0) and results["psnr"]["value"] >= 100  # identical images
    assert len(payload["input_warnings"]) == 1 and str(fake) in payload["input_warnings"][0]
    assert "3 image(s) with transparency" in payload["input_warnings"][0]
    assert all(payload["input_warnings"][0] in r["warnings"] for r in results.values())
    assert stdout.count("composited on white") == 1  # printed once for the folder, not once per metric
