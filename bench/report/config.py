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
        message = str(exc).split("\nTo append to your config use")[0]  # Hydra's `+key=` hint makes a typo a no-op
        raise BenchError(f"bad option for `bench {name}`: {message}",
                         hint=_did_you_mean(overrides, config_dir / f"{name}.yaml")
                         + f"options are the keys of {config_dir / (name + '.yaml')} "
                           f"(`python -m bench {name} --help` lists them)") from exc


def _did_you_mean(overrides: list[str], config: Path) -> str:
    """``did you mean 'runs_dir'? `` for an override whose key is close to one of the config's keys, else ""."""
    import difflib

    from omegaconf import OmegaConf

    tree = OmegaConf.to_container(OmegaConf.load(config))
    keys = [".".join(path) for path in _key_paths(tree)] if isinstance(tree, dict) else []
    for arg in overrides:
        key = arg.partition("=")[0].lstrip("+~")
        if key and key not in keys and (close := difflib.get_close_matches(key, keys, n=1, cutoff=0.7)):
            return f"did you mean {close[0]!r}? "
    return ""


def _key_paths(node: dict, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, value in node.items():
        paths.append((*prefix, str(key)))
        if isinstance(value, dict):
            paths += _key_paths(value, (*prefix, str(key)))
    return paths
