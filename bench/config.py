"""Hydra configuration: where configs live, name validation with helpful errors, composition for programmatic use."""

from __future__ import annotations

import copy
import difflib
import re
import secrets
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from core.errors import BenchError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # package data: a wheel carries it


def _run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


if not OmegaConf.has_resolver("bench_run_id"):
    OmegaConf.register_new_resolver("bench_run_id", _run_id, use_cache=True)


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def _split_list(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return [v.strip().strip("'\"") for v in value.split(",") if v.strip()]


def validate_overrides(overrides: list[str], groups: dict[str, str]) -> None:
    """Check group selections (``protocol=x``, ``methods=[a,b]``, ``scale=y``) before Hydra sees them, so an unknown
    name exits with the list of valid names rather than Hydra's search-path dump; check that each selected method
    config files itself under its own name; and that ``methods.<m>.…`` overrides name a selected method."""
    selected: list[str] | None = None
    for override in overrides:
        key, sep, value = override.partition("=")
        key = key.lstrip("+~")
        if not sep or key not in groups:
            continue
        folder = groups[key]
        valid = group_options(folder)
        for name in _split_list(value) if key == "methods" else [value.strip()]:
            if name not in valid:
                kind = key.rstrip("s") if key == "methods" else key
                close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
                guess = f"did you mean {close[0]!r}? " if close else ""
                raise BenchError(f"unknown {kind} {name!r}; valid: {', '.join(valid)}",
                                 hint=f"{guess}(a new one: add bench/configs/{folder}/{name}.yaml)")
            if key == "methods":
                check_package_header(name)
        if key == "methods":
            selected = _split_list(value)
    if "methods" not in groups:
        return
    selected = selected if selected is not None else _default_methods()
    for override in overrides:
        parts = override.partition("=")[0].lstrip("+~").split(".")
        if parts[0] == "methods" and len(parts) > 2 and parts[1] not in selected:
            raise BenchError(f"{override.partition('=')[0]} sets a parameter of {parts[1]}, which is not among "
                             f"methods=[{','.join(selected)}]",
                             hint=f"add {parts[1]} to methods=[...], or drop the override")


def _default_methods() -> list[str]:
    """The methods ``run.yaml`` selects when the command line does not."""
    for entry in OmegaConf.load(CONFIG_DIR / "run.yaml").get("defaults", []):
        if isinstance(entry, DictConfig) and "methods" in entry:
            return [str(m) for m in entry["methods"]]
    return []


def check_package_header(name: str) -> None:
    """A method config must file itself under its own name (``# @package methods.<name>``): a header copied from
    another config would silently replace that method's row. Raises ``BenchError`` naming the file and the fix."""
    path = CONFIG_DIR / "methods" / f"{name}.yaml"
    header = next((line.split("@package", 1)[1].strip() for line in path.read_text().splitlines()
                   if line.startswith("#") and "@package" in line), None)
    if header != f"methods.{name}":
        raise BenchError(f"{path} is filed under {header or 'no @package header'!s}, not methods.{name}",
                         hint=f"make its first line `# @package methods.{name}`")


RUN_GROUPS = {"protocol": "protocol", "methods": "methods", "scale": "scale"}


def compose_run(overrides: list[str] | None = None) -> DictConfig:
    """The ``bench run`` config as Hydra composes it, for programmatic use (tests, ``bench tune``).

    The names that ``run.yaml`` takes from Hydra's choices (``protocol.name``, ``scale.name``) are resolved here,
    since no Hydra app is running to answer ``${hydra:...}`` later."""
    from hydra import compose, initialize_config_dir

    overrides = list(overrides or [])
    validate_overrides(overrides, RUN_GROUPS)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        cfg = compose(config_name="run", overrides=overrides, return_hydra_config=True)
    choices = cfg.hydra.runtime.choices
    with open_dict(cfg):
        for group in ("protocol", "scale"):
            cfg[group].name = str(choices[group])
        del cfg["hydra"]
    return cfg


def check_override_keys(overrides: list[str]) -> DictConfig:
    """One line instead of Hydra's multi-line dump for an option the config does not have, with the likely fix
    (``colour_correction.method=`` is ``protocol.colour_correction.method=``); and a refusal of ``+key=`` at the top
    level, which Hydra would add and nothing would read. Raises ``BenchError``; returns the composed config."""
    from hydra.errors import HydraException

    def base() -> DictConfig:  # the config without the options: only composed when a message needs it
        return compose_run([o for o in overrides if o.partition("=")[0].lstrip("+~") in RUN_GROUPS])

    try:
        composed = compose_run(overrides)
    except HydraException as exc:
        match = re.search(r"override '([^']+)'", str(exc))
        key = match.group(1) if match else str(exc).splitlines()[0]
        raise BenchError(f"unknown option {key}", hint=_where(key, base())) from None
    added = [k for k in (o.partition("=")[0] for o in overrides) if k.startswith("+") and not k.startswith("++")]
    known = base() if added else None
    for key in added:
        if key.lstrip("+").split(".")[0] not in known:  # type: ignore[operator]
            raise BenchError(f"{key} adds a top-level option that nothing reads (the run would ignore it)",
                             hint=_where(key.lstrip("+"), known))  # type: ignore[arg-type]
    _check_preset_shadowing(overrides, composed)
    return composed


def _check_preset_shadowing(overrides: list[str], cfg: DictConfig) -> None:
    """Refuse ``methods.<m>.params.<key>=`` where the run's scale preset also sets ``key``: presets are applied after
    ``params`` (:func:`method_params`), so the value would be silently replaced; ``override.<key>`` is the fix."""
    scale = str(OmegaConf.select(cfg, "scale.name", default=""))
    for option in overrides:
        key, _, value = option.partition("=")
        parts = key.lstrip("+~").split(".")
        if len(parts) != 4 or parts[0] != "methods" or parts[2] != "params":
            continue
        preset = OmegaConf.select(cfg, f"methods.{parts[1]}.presets.{scale}", default=None)
        if isinstance(preset, DictConfig) and parts[3] in preset and \
                OmegaConf.select(cfg, f"methods.{parts[1]}.params.{parts[3]}") != preset[parts[3]]:
            raise BenchError(f"{key}={value} would be ignored: the {scale} preset of {parts[1]} sets {parts[3]} "
                             f"({OmegaConf.select(preset, parts[3])}), and presets are applied after params",
                             hint=f"use +methods.{parts[1]}.override.{parts[3]}={value} (applied after every preset)")


def _where(key: str, base: DictConfig) -> str:
    """Where ``key`` lives if it belongs under a config group (``protocol.``, ``scale.``), else the valid keys."""
    head = key.split(".")[0]
    for group in ("protocol", "scale"):
        if head in base.get(group, {}):
            return f"did you mean {group}.{key}=? (protocol settings: {', '.join(map(str, base[group]))})"
    parent, _, _ = key.rpartition(".")
    node = OmegaConf.select(base, parent) if parent else base
    if isinstance(node, DictConfig):
        return f"valid keys{' under ' + parent if parent else ''}: {', '.join(map(str, node))}"
    return "see the options table of `bench run` in README.md"


def method_class(label: str, cfg: DictConfig | dict[str, Any]) -> str:
    """The registered method a method config runs: the one registered under the config's own name (its file name,
    ``label``), else, for an ablation variant, the method it is a ``variant_of``. A config built in code may name
    the method outright (``name:``) to run it under another label; no config file needs to.

    Raises ``BenchError`` when none of these names a registered method."""
    from methods import METHODS

    if cfg.get("name"):
        return str(cfg["name"])
    if label in METHODS:
        return label
    base = cfg.get("variant_of")
    if base and base in METHODS:
        return str(base)
    raise BenchError(f"method config {label!r} runs no registered method",
                     hint=f"register a method named {label!r}, or declare `variant_of: <method>` in "
                          f"bench/configs/methods/{label}.yaml")


def method_params(method_cfg: DictConfig | dict[str, Any], scale: str, dataset: str | None = None
                  ) -> dict[str, Any]:
    """Effective parameters of a method at a scale: ``params``, updated by the overlay ``datasets[dataset]`` (a
    method's per-dataset recipe, e.g. CoCosNet's loss weights for ``celebahq_edge``; selected by the protocol's
    ``dataset`` setting, none when the config has no entry for it), then by ``presets[scale]``, then by ``override``
    (e.g. ``+methods.munit.override.steps=10`` sets the steps whatever the scale)."""
    cfg = OmegaConf.create(method_cfg) if isinstance(method_cfg, dict) else method_cfg
    base = OmegaConf.to_container(cfg.get("params") or OmegaConf.create({}), resolve=True)
    overlays = cfg.get("datasets") or {}
    if dataset is not None and dataset in overlays:
        base = OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(base), overlays[dataset] or {}), resolve=True)
    presets = cfg.get("presets") or {}
    if scale not in presets:
        raise BenchError(f"a method config has no preset for scale {scale!r} (it has: {', '.join(presets) or 'none'})",
                         hint=f"add presets.{scale} to its bench/configs/methods/<name>.yaml")
    preset = OmegaConf.to_container(presets[scale] or OmegaConf.create({}), resolve=True)
    override = OmegaConf.to_container(cfg.get("override") or OmegaConf.create({}), resolve=True)
    merged = OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(preset), OmegaConf.create(override))
    return OmegaConf.to_container(merged, resolve=True)  # type: ignore[return-value]


# parsed method configs by file: (every file read for it with its mtime, the config); bench list / matrix build
# hundreds of method settings, and parsing the YAML again each time was most of their time
_METHOD_CONFIGS: dict[Path, tuple[tuple[tuple[Path, int], ...], DictConfig]] = {}


def load_method_config(name: str) -> DictConfig:
    """A method's config file as a plain node (its ``@package`` header is Hydra's business): a fresh copy the caller
    may change. Parsed once per process while its files (its own and, for a variant, its base's) are unchanged."""
    key = CONFIG_DIR / "methods" / f"{name}.yaml"
    hit = _METHOD_CONFIGS.get(key)
    if hit is None or any(_mtime(path) != mtime for path, mtime in hit[0]):
        hit = _parse_method_config(name)
        _METHOD_CONFIGS[key] = hit
    return copy.deepcopy(hit[1])


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.is_file() else -1


def _parse_method_config(name: str) -> tuple[tuple[tuple[Path, int], ...], DictConfig]:
    path = CONFIG_DIR / "methods" / f"{name}.yaml"
    if not path.is_file():
        raise BenchError(f"no config for method {name!r}", hint=f"add {path}")
    check_package_header(name)
    stamps = [(path, _mtime(path))]
    cfg = OmegaConf.load(path)
    defaults = cfg.pop("defaults", None) if isinstance(cfg, DictConfig) else None
    for entry in defaults or []:  # a variant: `defaults: [base@_here_, _self_]`
        if isinstance(entry, str) and entry != "_self_":
            base_stamps, base = _parse_method_config(entry.split("@")[0])
            stamps += base_stamps
            cfg = OmegaConf.merge(base, cfg)
    return tuple(stamps), cfg


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}`` (MLflow params)."""
    container = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg
    flat: dict[str, Any] = {}
    if isinstance(container, dict):
        for key, value in container.items():
            flat.update(flatten(value, f"{prefix}{key}."))
    else:
        flat[prefix.rstrip(".")] = container
    return flat
