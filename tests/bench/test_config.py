from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from bench.config import (
    check_package_header,
    compose_run,
    flatten,
    group_options,
    load_method_config,
    method_class,
    method_params,
    validate_overrides,
)
from core.errors import BenchError


def test_default_run_config_is_mnist_single_smoke_with_reference_methods() -> None:
    cfg = compose_run()
    assert cfg.protocol.name == "mnist_single"
    assert cfg.scale.name == "smoke"
    assert list(cfg.methods) == ["input_copy", "exemplar_copy", "colour_transfer"]
    assert cfg.data.root is None


def test_only_the_smoke_scale_opts_in_to_random_weights_and_the_command_line_wins() -> None:
    assert compose_run().allow_uncalibrated is True  # smoke: offline pipeline checks; rows say uncalibrated
    assert compose_run(["scale=cpu"]).allow_uncalibrated is False
    assert compose_run(["scale=paper"]).allow_uncalibrated is False
    assert compose_run(["allow_uncalibrated=false"]).allow_uncalibrated is False
    assert compose_run(["scale=cpu", "allow_uncalibrated=true"]).allow_uncalibrated is True


def test_methods_list_keeps_order_and_overrides_reach_nested_keys() -> None:
    cfg = compose_run(["methods=[colour_transfer,input_copy]", "scale=cpu", "seed=3",
                       "+methods.input_copy.params.anything=5"])
    assert list(cfg.methods) == ["colour_transfer", "input_copy"]
    assert cfg.scale.name == "cpu" and cfg.seed == 3
    assert cfg.methods.input_copy.params.anything == 5


@pytest.mark.parametrize("override, message", [
    ("protocol=nope", "unknown protocol 'nope'; valid: .*mnist_single"),
    ("methods=[input_copy,nope]", "unknown method 'nope'; valid: "),
    ("scale=huge", "unknown scale 'huge'; valid: cpu, paper, smoke"),
])
def test_unknown_group_names_list_the_valid_ones(override: str, message: str) -> None:
    with pytest.raises(BenchError, match=message.replace("[", r"\[")):
        validate_overrides([override], {"protocol": "protocol", "methods": "methods", "scale": "scale"})


def test_method_params_merge_preset_over_paper_params() -> None:
    cfg = OmegaConf.create({"name": "m", "params": {"width": 64, "steps": 1000, "lr": 1e-4},
                            "presets": {"smoke": {"width": 8, "steps": 5}, "paper": {}}})
    assert method_params(cfg, "smoke") == {"width": 8, "steps": 5, "lr": 1e-4}
    assert method_params(cfg, "paper") == {"width": 64, "steps": 1000, "lr": 1e-4}
    cfg.override = {"steps": 2}  # applied last, whatever the scale
    assert method_params(cfg, "smoke") == {"width": 8, "steps": 2, "lr": 1e-4}
    with pytest.raises(BenchError, match="no preset for scale 'cpu'"):
        method_params(cfg, "cpu")


def test_a_dataset_overlay_sits_above_params_and_below_the_preset_and_override() -> None:
    cfg = OmegaConf.create({"params": {"width": 64, "steps": 1000, "lr": 1e-4, "w_mask": 100.0},
                            "datasets": {"celebahq_edge": {"w_mask": 0.0, "lr": 2e-4, "width": 32}},
                            "presets": {"smoke": {"width": 8}}, "override": {"steps": 2}})
    assert method_params(cfg, "smoke", "celebahq_edge") == {"width": 8, "steps": 2, "lr": 2e-4, "w_mask": 0.0}
    assert method_params(cfg, "smoke", "ade20k") == method_params(cfg, "smoke") == {
        "width": 8, "steps": 2, "lr": 1e-4, "w_mask": 100.0}  # no overlay for that dataset: params as they are


def test_every_method_config_runs_a_registered_method_and_has_all_scales() -> None:
    from methods import METHODS

    for name in group_options("methods"):
        cfg = load_method_config(name)
        assert "name" not in cfg, f"bench/configs/methods/{name}.yaml repeats its name (the file name says it)"
        assert method_class(name, cfg) in METHODS
        for scale in group_options("scale"):
            assert isinstance(method_params(cfg, scale), dict)


def test_method_class_is_the_file_name_or_what_a_variant_ablates() -> None:
    assert method_class("munit", {}) == "munit"
    assert method_class("pix2pix_noise", {"variant_of": "pix2pix"}) == "pix2pix_noise"  # registered itself
    assert method_class("egscit_no_adain", {"variant_of": "egscit"}) == "egscit"
    with pytest.raises(BenchError, match="runs no registered method"):
        method_class("no_such_method", {})


def test_names_come_from_file_names() -> None:
    for protocol in group_options("protocol"):
        cfg = compose_run([f"protocol={protocol}", "scale=cpu"])
        assert cfg.protocol.name == protocol and cfg.scale.name == "cpu" and cfg.tracking.experiment == protocol
        assert cfg.run_name.startswith(f"{protocol}-")


def test_flatten() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": "x"}) == {"a.b": 1, "a.c": [1, 2], "d": "x"}


def test_every_method_config_files_itself_under_its_own_name() -> None:
    for name in group_options("methods"):
        check_package_header(name)


def test_a_copied_header_is_refused(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.config as config

    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "blend_low.yaml").write_text("# @package methods.blend\nparams: {alpha: 0.1}\n")
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    with pytest.raises(BenchError, match=r"blend_low.yaml is filed under methods.blend, not methods.blend_low"):
        check_package_header("blend_low")


@pytest.mark.parametrize(("override", "message", "hint"), [
    ("colour_correction.method=wct2", "unknown option colour_correction.method",
     "did you mean protocol.colour_correction.method=?"),
    ("+colour_correction.method=wct2", "+colour_correction.method adds a top-level option that nothing reads",
     "did you mean protocol.colour_correction.method=?"),
    ("protocol.retrieval.kk=5", "unknown option protocol.retrieval.kk", "valid keys under protocol.retrieval: k, "),
])
def test_unknown_options_are_one_line_with_where_they_live(override: str, message: str, hint: str) -> None:
    from bench.config import check_override_keys

    with pytest.raises(BenchError) as err:
        check_override_keys(["protocol=coco_stuff_scenes", "methods=[exemplar_copy]", override])
    assert str(err.value).startswith(message) and hint in str(err.value.hint)
    check_override_keys(["protocol=coco_stuff_scenes", "+methods.exemplar_copy.override.x=1"])  # a legitimate +key


def test_a_params_option_that_the_scale_preset_would_replace_is_refused_with_the_override_fix() -> None:
    from bench.config import check_override_keys, load_method_config

    base = ["protocol=coco_stuff_scenes", "methods=[msca]", "scale=cpu"]
    preset = load_method_config("msca").presets.cpu.batch_size
    with pytest.raises(BenchError) as err:
        check_override_keys([*base, "methods.msca.params.batch_size=7"])
    assert str(err.value).startswith("methods.msca.params.batch_size=7 would be ignored: the cpu preset of "
                                     f"msca sets batch_size ({preset})")
    assert err.value.hint == "use +methods.msca.override.batch_size=7 (applied after every preset)"
    check_override_keys([*base, "+methods.msca.override.batch_size=7"])
    check_override_keys([*base, "methods.msca.params.lambda_vgg=5"])  # no preset sets it: params is the place


def test_a_params_option_equal_to_the_preset_value_is_allowed() -> None:
    from bench.config import check_override_keys, load_method_config

    preset = load_method_config("msca").presets.cpu.batch_size
    check_override_keys(["protocol=coco_stuff_scenes", "methods=[msca]", "scale=cpu",
                         f"methods.msca.params.batch_size={preset}"])


@pytest.mark.parametrize(("option", "named"), [("methods.msca.params.K=4", "K=4 (default [8, 16, 16, 16, 16])"),
                                               ("+methods.msca.override.pretrain_steps=abc", "pretrain_steps='abc'")])
def test_a_parameter_of_the_wrong_type_is_one_line_naming_it(option: str, named: str) -> None:
    from bench.runner import check_method_params

    cfg = compose_run(["protocol=coco_stuff_scenes", "methods=[msca]", "scale=smoke", option])
    with pytest.raises(BenchError, match="a parameter of msca has a value of the wrong type: ") as err:
        check_method_params(cfg)
    assert named in str(err.value)


def test_misspelt_names_suggest_the_close_one() -> None:
    from bench.config import RUN_GROUPS, validate_overrides

    with pytest.raises(BenchError) as err:
        validate_overrides(["methods=[mscaa]"], RUN_GROUPS)
    assert "did you mean 'msca'?" in str(err.value.hint)


def test_a_method_config_is_parsed_once_and_reread_when_its_file_changes(tmp_path, monkeypatch) -> None:
    """``load_method_config`` keeps the parsed file while it is unchanged: each call returns a copy the caller may
    change, and an edited file (or its variant's base) is read again."""
    import os

    from bench import config

    folder = tmp_path / "methods"
    folder.mkdir()
    base, variant = folder / "blend.yaml", folder / "blend_low.yaml"
    base.write_text("# @package methods.blend\nparams: {alpha: 0.5, beta: 1}\n")
    variant.write_text("# @package methods.blend_low\ndefaults: [blend@_here_, _self_]\nparams: {alpha: 0.1}\n")
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    first = config.load_method_config("blend_low")
    assert (first.params.alpha, first.params.beta) == (0.1, 1)
    first.params.alpha = 9  # the caller's copy: the next load is unaffected
    assert config.load_method_config("blend_low").params.alpha == 0.1
    base.write_text("# @package methods.blend\nparams: {alpha: 0.5, beta: 2}\n")
    os.utime(base, ns=(base.stat().st_atime_ns, base.stat().st_mtime_ns + 10**9))  # a later mtime, whatever the clock
    assert config.load_method_config("blend_low").params.beta == 2
