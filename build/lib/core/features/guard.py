"""The download guard every pretrained build runs under: no library fetches weights behind the manifest's back."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from unittest import mock

from core.errors import MissingWeightsError


class DownloadAttemptError(MissingWeightsError):
    """A library tried to download weights while ``forbid_downloads`` was active."""


@contextlib.contextmanager
def forbid_downloads() -> Iterator[None]:
    """Make every torch-hub style download raise ``DownloadAttemptError`` instead of touching the network."""

    def refuse(url: str, *args: object, **kwargs: object) -> None:
        raise DownloadAttemptError(
            f"refused to download {url} at runtime: the harness loads pretrained weights only from the manifest",
            hint="run `python -m bench weights status` to see which files are missing, then "
                 "`python -m bench weights download <name>`",
        )

    patches = [mock.patch("torch.hub.load_state_dict_from_url", refuse),
               mock.patch("torch.hub.download_url_to_file", refuse),
               mock.patch("torch.utils.model_zoo.load_url", refuse)]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        # Modules that bound their own reference to the loader at import time.
        for module in ("torchvision.models._api", "pytorch_fid.inception"):
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
                stack.enter_context(mock.patch(f"{module}.load_state_dict_from_url", refuse))
        yield
