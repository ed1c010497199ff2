"""The CLI as a user meets it: subprocesses, exit codes, messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_no_command_prints_usage() -> None:
    out = bench()
    assert out.returncode == 0
    assert "run" in out.stdout and "list" in out.stdout


def test_unknown_command_exits_nonzero_with_valid_commands() -> None:
    out = bench("frobnicate")
    assert out.returncode == 2
    assert "unknown command 'frobnicate'" in out.stderr and "run" in out.stderr


@pytest.mark.parametrize("override, expected", [
    ("protocol=nope", "unknown protocol 'nope'; valid: "),  # the list grows with every protocol
    ("methods=[input_copy,nope]", "unknown method 'nope'"),
    ("scale=huge", "valid: cpu, paper, smoke"),
    ("+methods.cyclegan.override.steps=3", "sets a parameter of cyclegan, which is not among methods=[input_copy,"),
    ("methods=[cyclegan] +methods.cyclegan.override.stepz=3", "unknown cyclegan parameters ['stepz']"),
    ("data.source=edges2objects", "unknown data source 'edges2objects' for mnist_single"),
    ("device=tpu", "device='tpu' is not a torch device"),
    ("loader.workers=-1", "loader.workers=-1 is not a number of processes"),
    pytest.param("device=cuda", "device=cuda but torch", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="a CUDA GPU is visible here: device=cuda is valid")),
])
def test_run_rejects_unknown_names(override: str, expected: str, tmp_path: Path) -> None:
    out = bench("run", *override.split(), f"paths.results={tmp_path}", "tracking.enabled=false")
    text = out.stdout + out.stderr
    assert out.returncode == 2
    assert expected in out.stderr and "Traceback" not in text  # errors (Hydra's logging too) go to stderr
    assert not list(tmp_path.glob("runs/*/metrics.csv"))


def test_run_with_missing_mnist_names_files_and_fix(tmp_path: Path) -> None:
    out = bench("run", f"data.root={tmp_path / 'empty'}", f"paths.results={tmp_path}", "tracking.enabled=false")
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert "t10k-images-idx3-ubyte.gz" in text and "data.download=true" in text and "data.source=digits" in text
    assert not list(tmp_path.glob("runs/*/metrics.csv"))


def test_list_shows_methods_capabilities_protocols_and_compatibility() -> None:
    out = bench("list")
    assert out.returncode == 0, out.stderr
    for text in ("## Methods", "colour_transfer", "guidance=exemplar", "params@paper", "## Protocols",
                 "mnist_single", "ssim A→B", "## Compatibility"):
        assert text in out.stdout


def test_run_prints_the_table_and_the_metrics_csv_path_last(tmp_path: Path) -> None:
    out = bench("run", "methods=[input_copy,exemplar_copy]", f"paths.results={tmp_path}", "progress=false",
                "protocol.samples.smoke.train=32", "protocol.samples.smoke.test=16")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.endswith("metrics.csv") and Path(last).is_file()
    assert "| exemplar_copy" in out.stdout and "reported: EGSC-IT" in out.stdout and "smoke scale" in out.stdout


def test_list_counts_networks_built_uninitialised_like_initialised_ones() -> None:
    from bench.commands.list import _human, parameter_count, uninitialised
    from bench.config import load_method_config, method_params
    from methods import create_method

    original = torch.nn.init.normal_
    built = create_method("spade", **method_params(load_method_config("spade"), "smoke"))
    assert parameter_count("spade", "smoke") == _human(sum(built.parameter_counts().values()))
    assert torch.nn.init.normal_ is original  # restored
    weights = torch.zeros(4)
    with uninitialised():
        torch.nn.init.normal_(weights)
        weights.uniform_()
        assert not weights.any()  # nothing drawn while counting
    torch.nn.init.normal_(weights)
    assert weights.any()


def test_list_refuses_an_unknown_option() -> None:
    out = bench("list", "--bogus")
    assert out.returncode == 2 and "takes only --no-counts, not --bogus" in out.stderr


def test_list_numbers_refusal_reasons_so_the_matrix_stays_narrow() -> None:
    import pandas as pd

    from bench.commands.list import numbered_reasons

    frame = pd.DataFrame({"p1": {"m1": "yes", "m2": "no: needs paired data"},
                          "p2": {"m1": "no: needs label maps", "m2": "no: needs paired data"}})
    table, reasons = numbered_reasons(frame)
    assert reasons == ["needs paired data", "needs label maps"]
    assert table.to_dict() == {"p1": {"m1": "yes", "m2": "no [1]"}, "p2": {"m1": "no [2]", "m2": "no [1]"}}


def test_run_help_reaches_hydra() -> None:
    out = bench("run", "--help")
    assert out.returncode == 0 and "Configuration groups" in out.stdout


def test_a_grid_under_torchrun_is_refused_before_anything_runs(tmp_path: Path) -> None:
    import os

    out = subprocess.run([sys.executable, "-m", "bench", "run", "-m", "seed=0,1", f"paths.results={tmp_path}"],
                         cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "WORLD_SIZE": "2", "RANK": "0"})
    assert out.returncode == 2 and "cannot run under torchrun" in out.stderr and "Traceback" not in out.stderr
    assert not any(tmp_path.iterdir())
