"""End-to-end smoke runs of the orchestrator: files, MLflow runs, failures, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf

from bench.config import compose_run
from bench.results import COLUMNS
from bench.runner import execute, run_method_params
from methods import METHODS
from methods.base import Capabilities, Method


class _NanMethod(Method):
    capabilities = Capabilities(training="none", guidance="exemplar")

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return torch.full_like(content, float("nan"))


class _CrashingFit(Method):
    capabilities = Capabilities(training="unpaired", guidance="none")

    def fit(self, data, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom in fit")

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return content


class _Interrupted(Method):
    capabilities = Capabilities(training="unpaired", guidance="none")

    def fit(self, data, ctx):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt("signal 15")

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return content


class _PairedOnly(Method):
    capabilities = Capabilities(training="paired", guidance="noise", directions="AB")

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return content


class _Learned(Method):
    """A 1×1 conv trained a few steps on domain A (enough to exercise intermediate evaluations)."""

    capabilities = Capabilities(training="unpaired", guidance="none")

    def __init__(self, steps: int = 8) -> None:
        super().__init__(steps=steps)
        self.net = torch.nn.Conv2d(3, 3, 1)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)

    def networks(self):  # type: ignore[no-untyped-def]
        return {"net": self.net}

    def fit(self, data, ctx):  # type: ignore[no-untyped-def]
        from methods.training import TrainLoop

        loop = TrainLoop(self, ctx, steps=self.params["steps"])
        batches = loop.batches(data.a, 8)
        for step in loop:
            x = next(batches)["image"]
            loss = (self.net(x) - x).pow(2).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            loop.report(step, {"loss": loss})

    def translate(self, content, exemplar, direction="AB", seed=0):  # type: ignore[no-untyped-def]
        return self.net(content).clamp(0, 1)


@pytest.fixture
def test_methods() -> Iterator[None]:
    extra = {"_nan": _NanMethod, "_crash": _CrashingFit, "_paired": _PairedOnly, "_learned": _Learned,
             "_interrupted": _Interrupted}
    METHODS.discover()
    for name, cls in extra.items():
        METHODS.register(name)(cls)
    yield
    for name in extra:
        METHODS._entries.pop(name)


def small_cfg(tmp_path: Path, *overrides: str, methods: dict | None = None):  # type: ignore[no-untyped-def]
    cfg = compose_run([f"paths.results={tmp_path}", "progress=false", "protocol.samples.smoke.train=64",
                       "protocol.samples.smoke.test=32", *overrides])
    if methods is not None:
        OmegaConf.set_struct(cfg, False)
        cfg.methods = {k: {"name": v, "params": {}, "presets": {"smoke": {}}} for k, v in methods.items()}
    return cfg


def mlflow_runs(tmp_path: Path) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return mlflow.search_runs(search_all_experiments=True)


def test_smoke_run_writes_metrics_csv_table_grid_and_mlflow_runs(tmp_path: Path) -> None:
    outcome = execute(small_cfg(tmp_path))
    assert not outcome.failed
    frame = pd.read_csv(outcome.metrics_csv)
    assert list(frame.columns) == COLUMNS
    ours = frame[frame.source == "ours"]
    assert set(ours.method) == {"input_copy", "exemplar_copy", "colour_transfer"}
    assert set(ours.translation) == {"A→B", "B→A"} and (ours.n == 32).all()
    assert ours.value.between(-1, 1).all() and (ours.status == "ok").all() and ours.calibrated.all()
    assert ours.protocol_hash.nunique() == 1 and (ours.data_source == "digits").all()
    assert (ours.precision == "fp32").all() and (ours.processes == 1).all()  # how the methods trained, per row
    reported = frame[frame.source != "ours"]
    assert (reported.status == "reported").all() and reported.source.str.startswith("reported: EGSC-IT").all()
    for name in ("table.md", "table.csv", "grid.png"):
        assert (outcome.run_dir / name).stat().st_size > 0

    runs = mlflow_runs(tmp_path)
    parent = runs[runs["tags.bench.kind"] == "run"]
    children = runs[runs["tags.bench.kind"] == "method"]
    assert len(parent) == 1 and len(children) == 3
    assert (children["tags.mlflow.parentRunId"] == parent.run_id.iloc[0]).all()
    assert set(children.status) == {"FINISHED"} and parent.status.iloc[0] == "FINISHED"
    for tag in ("protocol", "protocol_hash", "data_source", "data_fingerprint", "git_commit", "scale", "calibrated",
                "precision", "processes"):
        assert parent[f"tags.bench.{tag}"].notna().all(), tag
    assert children["metrics.ssim.A2B"].notna().all() and children["metrics.ssim.B2A.std"].notna().all()
    assert parent["params.scale.name"].iloc[0] == "smoke"


def test_nan_and_crashing_methods_fail_cleanly_others_still_run(tmp_path: Path, test_methods: None) -> None:
    cfg = small_cfg(tmp_path, methods={"input_copy": "input_copy", "nanny": "_nan", "crash": "_crash"})
    outcome = execute(cfg)
    assert outcome.failed
    frame = pd.read_csv(outcome.metrics_csv)
    ours = frame[frame.source == "ours"].set_index(["method", "translation"])
    assert (ours.loc["input_copy", "status"] == "ok").all()
    for bad in ("nanny", "crash"):
        rows = ours.loc[bad]
        assert (rows.status == "failed").all() and rows.value.isna().all()
    assert ours.loc["crash"].note.str.contains("boom in fit").all()
    assert ours.loc["nanny"].note.str.contains("non-finite").all()
    assert (outcome.run_dir / "crash.traceback.txt").exists()
    runs = mlflow_runs(tmp_path)
    by_name = runs.set_index("tags.mlflow.runName")
    assert by_name.loc["nanny", "status"] == "FAILED" and by_name.loc["crash", "status"] == "FAILED"
    assert by_name.loc["input_copy", "status"] == "FINISHED"
    assert runs[runs["tags.bench.kind"] == "run"].status.iloc[0] == "FAILED"
    assert "FAILED" in (outcome.run_dir / "table.md").read_text()


def test_incompatible_method_is_refused_with_reason(tmp_path: Path, test_methods: None) -> None:
    # beside a method that runs (a selection refused entirely stops before any data is built: the test below)
    outcome = execute(small_cfg(tmp_path, methods={"paired": "_paired", "copy": "exemplar_copy"}))
    assert not outcome.failed
    frame = pd.read_csv(outcome.metrics_csv)
    rows = frame[frame.method == "paired"]
    assert (rows.status == "refused").all() and rows.value.isna().all()
    assert rows.note.str.contains("needs paired training data; this protocol offers unpaired").all()
    assert "refused" in (outcome.run_dir / "table.md").read_text()


def test_crash_while_writing_leaves_no_metrics_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from protocols.mnist_single import MnistSingle

    def broken(self, samples, out_dir):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(MnistSingle, "write_figures", broken)
    cfg = small_cfg(tmp_path, "tracking.enabled=false")
    with pytest.raises(OSError, match="disk full"):
        execute(cfg)
    assert not list(tmp_path.glob("runs/*/metrics.csv"))


def test_protocol_hash_changes_with_settings_and_data(tmp_path: Path) -> None:
    from bench.runner import build_protocol

    def phash(*overrides: str) -> str:
        protocol = build_protocol(small_cfg(tmp_path, *overrides))
        protocol.prepare()
        return protocol.protocol_hash()

    base = phash()
    assert phash() == base
    assert phash("protocol.ssim.sigma=2.0") != base
    assert phash("protocol.samples.smoke.test=16") != base
    assert phash("data.seed=1") != base
    assert phash("seed=5") == base  # runs differing only in the training seed aggregate in reports


def test_intermediate_evaluations_and_pruning(tmp_path: Path, test_methods: None) -> None:
    import optuna

    seen: list[tuple[int, float]] = []
    outcome = execute(small_cfg(tmp_path, methods={"learned": "_learned"}),
                      intermediate=lambda step, values: seen.append((step, values[("ssim", "A→B")].value)))
    assert not outcome.failed and [s for s, _ in seen] == [2, 4, 6]  # a quarter, half, three quarters of 8 steps

    def prune(step: int, values: dict) -> None:
        raise optuna.TrialPruned(f"pruned at {step}")

    with pytest.raises(optuna.TrialPruned):
        execute(small_cfg(tmp_path / "p", methods={"learned": "_learned"}), intermediate=prune)
    runs = mlflow_runs(tmp_path / "p")
    assert set(runs.status) == {"KILLED"} and "pruned" in set(runs["tags.bench.status"])
    assert not list((tmp_path / "p").glob("runs/*/metrics.csv"))


@pytest.mark.parametrize("overrides, adain_allowed", [
    (["scale=cpu"], False),                               # cpu: a method with pretrained encoders refuses
    (["scale=cpu", "allow_uncalibrated=true"], True),     # the run's opt-in reaches the method
    (["scale=smoke", "allow_uncalibrated=false"], True),  # the adain smoke preset allows it itself
])
def test_the_runs_uncalibrated_opt_in_reaches_methods_with_pretrained_encoders(overrides, adain_allowed) -> None:
    cfg = compose_run(["methods=[adain,cyclegan]", *overrides])
    assert run_method_params(cfg.methods.adain, cfg)["allow_uncalibrated"] is adain_allowed
    assert "allow_uncalibrated" not in run_method_params(cfg.methods.cyclegan, cfg)  # nothing to pass on


def test_an_interrupted_run_ends_killed_not_running_and_writes_no_metrics_csv(tmp_path: Path,
                                                                             test_methods: None) -> None:
    with pytest.raises(KeyboardInterrupt):
        execute(small_cfg(tmp_path, methods={"input_copy": "input_copy", "stopped": "_interrupted"}))
    runs = mlflow_runs(tmp_path).set_index("tags.mlflow.runName")
    assert runs.loc["stopped", "status"] == "KILLED" and runs.loc["stopped", "tags.bench.status"] == "killed"
    assert runs.loc["input_copy", "status"] == "FINISHED"
    parent = runs[runs["tags.bench.kind"] == "run"]
    assert list(parent.status) == ["KILLED"] and list(parent["tags.bench.status"]) == ["killed"]
    assert not list(tmp_path.glob("runs/*/metrics.csv"))


def test_sigterm_unwinds_like_ctrl_c_while_bench_run_is_active() -> None:
    import os
    import signal
    import time

    from bench.commands.run import _interrupt_on_sigterm

    previous = _interrupt_on_sigterm()
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler interrupts this at once
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_protocol_facts_set_declared_keys_over_every_preset_and_select_the_dataset_overlay() -> None:
    cfg = compose_run(["protocol=mnist_single", "methods=[spade_vae]", "scale=smoke"])
    mcfg = OmegaConf.create(OmegaConf.to_container(cfg.methods.spade_vae))
    mcfg.datasets = {"ade20k": {"lambda_vgg": 3.0}}
    facts = {"input_nc": 151, "label_nc": 151, "dataset": "ade20k"}
    params = run_method_params(mcfg, cfg, facts, METHODS.get("spade_vae").defaults)
    assert params["label_nc"] == 151  # the smoke preset's 4 is overruled by the data's fact
    assert "input_nc" not in params and "dataset" not in params  # spade_vae declares neither
    assert params["lambda_vgg"] == 3.0  # the ade20k overlay (the smoke preset does not set it)
    plain = run_method_params(mcfg, cfg)
    assert plain["label_nc"] == 4 and plain["lambda_vgg"] == 10.0  # no protocol facts: config as written


def test_a_misspelt_key_in_any_dataset_overlay_stops_the_run_before_data_is_built() -> None:
    from bench.runner import check_method_params
    from core.errors import BenchError

    cfg = compose_run(["protocol=mnist_single", "methods=[spade_vae]", "scale=smoke",
                       "+methods.spade_vae.datasets.deepfashion.lambda_vggg=1.0"])  # as a config file would hold it
    with pytest.raises(BenchError, match="lambda_vggg"):
        check_method_params(cfg)


def test_a_wrong_parameter_value_stops_the_run_before_data_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.runner import check_method_params
    from core.errors import BenchError

    cfg = compose_run(["protocol=ade20k", "methods=[cocosnet,spade,exemplar_copy]", "scale=smoke",
                       "methods.cocosnet.params.match_resolution=1/3"])
    with pytest.raises(BenchError, match="match_resolution must be one of 1/4, 1/2, full, got '1/3'"):
        check_method_params(cfg)
    cfg = compose_run(["protocol=ade20k", "methods=[spade]", "scale=smoke",
                       "methods.spade.params.param_free_norm=layer"])
    with pytest.raises(BenchError, match="param_free_norm must be one of"):
        check_method_params(cfg)
    with pytest.raises(BenchError, match=r"did you mean 'match_resolution' for 'match_resolutoin'\?"):
        check_method_params(compose_run(["protocol=ade20k", "methods=[cocosnet]", "scale=smoke",
                                         "+methods.cocosnet.params.match_resolutoin=1/2"]))


def _no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building any protocol's data fail the test."""
    from protocols import PROTOCOLS

    def prepare(self: object) -> None:
        raise AssertionError("data was built")

    for _, protocol_cls in PROTOCOLS.items():
        monkeypatch.setattr(protocol_cls, "prepare", prepare)


def test_execute_refuses_a_wrong_value_before_data_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import BenchError

    _no_data(monkeypatch)
    cfg = compose_run(["protocol=ade20k", "methods=[cocosnet,spade,exemplar_copy]", "scale=smoke",
                       "methods.cocosnet.params.match_resolution=1/3", f"paths.results={tmp_path}"])
    with pytest.raises(BenchError, match="match_resolution must be one of 1/4, 1/2, full"):  # the CLI: rc 2
        execute(cfg)


def test_a_selection_the_protocol_refuses_entirely_stops_before_data_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.runner import check_any_served
    from core.errors import BenchError

    _no_data(monkeypatch)
    cfg = compose_run(["protocol=ade20k", "methods=[munit,cyclegan]", "scale=smoke", f"paths.results={tmp_path}"])
    with pytest.raises(BenchError, match="refuses every selected method") as info:
        execute(cfg)
    lines = str(info.value).splitlines()
    reasons = {line.split(":")[0].strip(): line for line in lines[1:3]}
    assert set(reasons) == {"munit", "cyclegan"}  # one line per method, with its reason
    assert all("refused, translates RGB images" in line for line in reasons.values())
    check_any_served(compose_run(["protocol=ade20k", "methods=[munit,spade]", "scale=smoke"]))  # spade runs: no error


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_every_method_config_passes_its_value_checks(scale: str) -> None:
    """Every shipped method config (each per-dataset overlay, each scale) passes ``Method.check_params``."""
    from bench.runner import check_method_params

    names = sorted(p.stem for p in (Path(__file__).parents[2] / "bench/configs/methods").glob("*.yaml"))
    assert check_method_params(compose_run(["protocol=mnist_single", f"methods=[{','.join(names)}]",
                                            f"scale={scale}"])) == {}  # no method lacks a recipe for MNIST


@pytest.mark.parametrize(("protocol", "method", "named"), [
    ("edges2shoes", "egscit", "no Table-6 settings for dataset_preset 'edges2shoes'"),  # EGSC-IT Table 6 has no row
    ("coco_stuff_scenes", "cocosnet", "no training recipe for dataset 'coco_stuff'")])  # CoCosNet's README has none
def test_a_method_without_a_recipe_for_the_protocol_is_refused_before_data_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str, method: str, named: str) -> None:
    from bench.run_checks import check_method_params, refusals
    from core.errors import BenchError

    _no_data(monkeypatch)
    cfg = compose_run([f"protocol={protocol}", f"methods=[{method},exemplar_copy]", "scale=smoke"])
    no_recipe = check_method_params(cfg)  # a refusal, not an error: the other method still runs
    assert set(no_recipe) == {method} and named in no_recipe[method]
    assert refusals(cfg, no_recipe) == {method: no_recipe[method], "exemplar_copy": None}
    alone = compose_run([f"protocol={protocol}", f"methods=[{method}]", "scale=smoke", f"paths.results={tmp_path}"])
    with pytest.raises(BenchError, match=f"{method}: refused, has no recipe for this protocol's data: .*{named}"):
        execute(alone)
