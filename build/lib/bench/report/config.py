"""Compose a command's primary Hydra config (``bench/configs/<name>.yaml``) with command-line overrides."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from bench.config import CONFIG_DIR
from core.errors import BenchError


def as_list_override(arg: str) -> str:
    """``key=a,b`` → ``key=[a,b]``: Hydra would read a bare comma list as a multirun sweep."""
    key, _, value = arg.partition("=")
    if "," in value and not value.startswith(("[", "'", '"')):
        return f"{key}=[{value}]"
    return arg


def compose_primary(name: str, overrides: list[str], config_dir: Path = CONFIG_DIR) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        with initialize_config_dir(config_dir=str(config_dir.resolve()), version_base="1.3"):
            return compose(config_name=name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        raise BenchError(f"bad option for `bench {name}`: {exc}",
                         hint=f"options are the keys of {config_dir / (name + '.yaml')} "
                              f"(`python -m bench {name} --help` lists them)") from exc
