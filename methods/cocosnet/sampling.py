"""CoCosNet's choice of the training exemplar (``Pix2pixDataset.__getitem__`` in ``data/pix2pix_dataset.py`` of
microsoft/CoCosNet@de0c1bbd, with ``get_ref`` of the dataset files).

One uniform draw p per training item i decides:

- p < min(``hard_p``, ``real_p``) (0.2): the *hard* exemplar, the last entry of i's retrieval list
  (``val = [items[1], items[-1]]``);
- ``hard_p`` ≤ p < ``real_p`` (0.7): the *easy* exemplar, the first entry (the nearest);
- p ≥ ``real_p``: *self-reference*: the ground truth itself (the caller crops/flips it independently), flagged
  ``self_ref``; with ``same_person`` (DeepFashion's ``--video_like``) another pose of the same person replaces it
  when there is one, still flagged ``self_ref``. DeepFashion's recipe has ``real_p`` = 0: always this branch.

``self_ref`` switches on the VGG feature-matching loss and the warp-self loss for that sample.
"""

from __future__ import annotations

import torch

from core.errors import DataError


class ExemplarSampler:
    """Draws exemplar indices for batches of training indices.

    exemplar_lists: int64 [N,K] (K ≥ 1) retrieval lists of training indices, nearest first, or None when
    ``real_p`` is 0; same_person: int64 [N], another pose of the same person or −1, or None.
    Raises ``DataError`` when the lists are needed but missing or malformed.
    """

    def __init__(self, n: int, exemplar_lists: torch.Tensor | None, same_person: torch.Tensor | None = None,
                 real_p: float = 0.7, hard_p: float = 0.2) -> None:
        if not (0.0 <= hard_p <= 1.0 and 0.0 <= real_p <= 1.0):  # hard_p > real_p: no draw is hard (official)
            raise ValueError(f"reference probabilities must lie in [0, 1], got hard {hard_p} and real {real_p}")
        self.real_p, self.hard_p = float(real_p), float(hard_p)
        self.lists = None if exemplar_lists is None else torch.as_tensor(exemplar_lists, dtype=torch.long)
        self.same_person = None if same_person is None else torch.as_tensor(same_person, dtype=torch.long)
        if self.real_p > 0:
            if self.lists is None:
                raise DataError("cocosnet needs the training exemplar lists (TrainData.meta['exemplar_lists'])",
                                hint="run cocosnet under a label-map protocol, or set "
                                     "real_reference_probability=0 (self-reference only)")
            if self.lists.dim() != 2 or self.lists.size(0) != n or self.lists.size(1) < 1:
                raise DataError(f"exemplar_lists must be [{n},K], got {tuple(self.lists.shape)}")
            if self.lists.numel() and (int(self.lists.min()) < 0 or int(self.lists.max()) >= n):
                raise DataError(f"exemplar_lists holds indices outside [0, {n})")
        if self.same_person is not None and tuple(self.same_person.shape) != (n,):
            raise DataError(f"same_person must be [{n}], got {tuple(self.same_person.shape)}")

    def draw(self, indices: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(exemplar indices [B] int64, self_ref [B] bool) for training indices [B]."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        p = torch.rand(indices.shape, generator=generator)
        refs, self_ref = indices.clone(), torch.ones(indices.shape, dtype=torch.bool)
        retrieved = p < self.real_p
        if bool(retrieved.any()):
            assert self.lists is not None
            rows = self.lists[indices]
            chosen = torch.where(p < self.hard_p, rows[:, -1], rows[:, 0])
            refs = torch.where(retrieved, chosen, refs)
            self_ref = ~retrieved
        if self.same_person is not None:
            pair = self.same_person[indices]
            use = ~retrieved & (pair >= 0)
            refs = torch.where(use, pair, refs)
        return refs, self_ref
