"""Adding a method, a protocol and a metric takes the files the README's "Adding things" lists, and nothing else.

A copy of the packages gets a throwaway metric (one file), method (one folder + one config) and protocol (one folder
+ one config); ``bench list``, ``bench score --list``, ``bench run`` and the protocol contract test in that copy then
find and use them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "core", "datasets", "metrics", "methods", "protocols")

NEW_FILES = {
    # a metric: one file
    "metrics/toy_mae.py": '''
        """Toy metric of the extension test: mean absolute error per image."""
        import torch

        from metrics import METRICS
        from metrics.base import PairedMetric


        @METRICS.register("toy_mae")
        class ToyMAE(PairedMetric):
            """Mean absolute difference per image, images (N, C, H, W) in [0, 1]."""

            direction = "lower"

            def per_image(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
                return (fake.double() - real.double()).abs().flatten(1).mean(1)
    ''',
    # a method: one folder + one config
    "methods/toy_blend/__init__.py": '''
        """Toy method of the extension test: the average of input and exemplar."""
        import torch

        from methods import METHODS
        from methods.base import Capabilities, Method


        @METHODS.register("toy_blend")
        class ToyBlend(Method):
            capabilities = Capabilities(training="none", guidance="exemplar")
            defaults = {"weight": 0.5}

            def translate(self, content, exemplar, direction="AB", seed=0):
                w = float(self.params["weight"])
                return (1 - w) * content + w * exemplar
    ''',
    "bench/configs/methods/toy_blend.yaml": '''
        # @package methods.toy_blend
        params: {weight: 0.5}
        presets: {smoke: {}, cpu: {}, paper: {}}
    ''',
    # a protocol: one folder + one config
    "protocols/toy_pairs/__init__.py": '''
        """Toy protocol of the extension test: black inputs, white exemplars, grey ground truth."""
        import torch

        from core.columns import Column
        from datasets.base import TensorImageSet, TrainData
        from metrics import create_metric
        from protocols import PROTOCOLS
        from protocols.base import DataProvenance, EvalResult, Offers, Protocol
        from protocols.kit import translate_all


        @PROTOCOLS.register("toy_pairs")
        class ToyPairs(Protocol):
            offers = Offers(training=frozenset({"unpaired"}), directions="AB")
            primary = "toy_mae A→B"  # the headline column `bench report matrix=true` shows

            @classmethod
            def data_sources(cls):
                return ["constant images"]

            @classmethod
            def columns(cls):
                return [Column("toy_mae", "A→B")]

            def prepare(self):
                n = int(self.settings_cfg["n"])
                self.a, self.b = torch.zeros(n, 3, 8, 8), torch.ones(n, 3, 8, 8)
                self.metric = create_metric("toy_mae")
                self.provenance = DataProvenance(source="constant", fingerprint=f"n{n}")
                return self.provenance

            def train_data(self):
                return TrainData(a=TensorImageSet(self.a), b=TensorImageSet(self.b), kind="unpaired")

            def metric_settings(self):
                return {"toy_mae": self.metric.settings()}

            def evaluate(self, method):
                fake = translate_all(method, self.a, self.b, "AB", 4, self.seed)
                return EvalResult(values={Column("toy_mae", "A→B"): self.metric(fake, torch.full_like(fake, 0.5))})
    ''',
    "bench/configs/protocol/toy_pairs.yaml": '''
        n: 6
    ''',
}


@pytest.fixture(scope="module")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extended")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    for relative, text in NEW_FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def _bench(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=root, capture_output=True, text=True,
                          timeout=300)


def test_the_protocol_contract_test_takes_the_new_protocol_unchanged(extended: Path) -> None:
    contract = extended / "tests" / "protocols" / "test_all_protocols.py"
    contract.parent.mkdir(parents=True)
    shutil.copy(REPO / "tests" / "protocols" / contract.name, contract)
    shutil.copy(REPO / "pyproject.toml", extended / "pyproject.toml")
    done = subprocess.run([sys.executable, "-m", "pytest", "-k", "toy_pairs", str(contract)], cwd=extended,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "6 passed, 1 skipped" in done.stdout  # reference rows, stand-in, seed hash pass; oracle skips
    assert "toy_pairs has no exact ground truth" in done.stdout


def test_the_new_pieces_are_listed(extended: Path) -> None:
    listed = _bench(extended, "list", "--no-counts")
    assert listed.returncode == 0, listed.stderr
    assert "toy_blend" in listed.stdout and "toy_pairs" in listed.stdout
    scored = _bench(extended, "score", "--list")
    assert scored.returncode == 0, scored.stderr
    assert "toy_mae" in scored.stdout


@pytest.mark.slow
def test_a_run_uses_the_new_method_protocol_and_metric(extended: Path) -> None:
    done = _bench(extended, "run", "protocol=toy_pairs", "methods=[toy_blend,input_copy,exemplar_copy]",
                  "tracking.enabled=false", "progress=false", f"paths.results={extended / 'results'}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = pd.read_csv(next((extended / "results" / "runs").rglob("metrics.csv")))
    rows = rows[rows.metric == "toy_mae"].set_index("method")
    # grey is halfway between black and white: the blend is exact, either copy is off by 0.5 everywhere
    assert rows.loc["toy_blend", "value"] == pytest.approx(0.0)
    assert rows.loc["input_copy", "value"] == pytest.approx(0.5)
    assert rows.loc["exemplar_copy", "value"] == pytest.approx(0.5)
    assert set(rows.protocol) == {"toy_pairs"} and rows.protocol_hash.nunique() == 1
