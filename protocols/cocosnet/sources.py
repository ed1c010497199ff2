"""Building a CoCosNet protocol's data: training split with its exemplar lists, test split, one exemplar per test
input, and (on a world) the exact translations. ``load_stand_in`` reads a world, ``load_real`` a real reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import DataError
from core.hashing import settings_hash
from datasets.real import REAL_DATASETS, ROOT_SETTING
from datasets.worlds import load_world
from protocols.cocosnet.data import ENCODINGS
from protocols.cocosnet.retrieval import (
    Retriever,
    class_mean_render,
    class_means,
    nearest,
    random_lists,
    ranked_lists,
    same_person,
)
from protocols.labelled import Split, concat, read_split, take, train_split_or_val


@dataclass
class LoadedData:
    """``train``/``test`` splits; ``refs`` row i = the exemplar of test input i; ``exemplar_lists`` int64 [N,K]
    and ``same_person`` int64 [N] (or None) into ``train``; ``exact`` uint8 [N,S,S,3] exact translations (worlds) or
    None; provenance; ``exemplar_rule`` (how test exemplars were chosen, for notes and the hash)."""

    train: Split
    test: Split
    refs: Split
    exemplar_lists: np.ndarray
    same_person: np.ndarray | None
    exact: np.ndarray | None
    source: str
    fingerprint: str
    description: str
    exemplar_rule: str
    retrieval_settings: dict[str, Any]
    calibrated: bool
    files: dict[str, str] = field(default_factory=dict)

    @property
    def label_nc(self) -> int:
        """Classes incl. don't-care: the one-hot channel count, else the label set's classes + 1."""
        return self.test.input_nc if self.test.stored is None else len(self.test.label_set) + 1


def training_lists(train: Split, retriever: Retriever, rule: str, k: int, seed: int) -> tuple[np.ndarray, Any]:
    """(exemplar lists [N,K], pool5 embeddings of ``train`` or None)."""
    if len(train) < 3:
        raise DataError(f"{len(train)} training images: the exemplar lists need at least 3 (K ≥ 2)",
                        hint="raise protocol.samples.<scale>.train to 3 or more")
    if rule == "random":
        return random_lists(len(train), k, seed), None
    embeddings = retriever.embed(train.image_tensor(np.arange(len(train))))
    return ranked_lists(embeddings, k), embeddings


def load_stand_in(world: str, encoding: str, counts: dict[str, Any], retrieval: dict[str, Any], dataset: str
                  ) -> LoadedData:
    """The world's splits at ``counts["size"]``; DeepFashion's stand-in trains on ⌈train/2⌉ figures plus reposed
    copies of the others (``FiguresWorld.self_pair``: same person, another pose), whose indices are ``same_person``.
    Test exemplars: retrieved with the class-mean query among the (non-reposed) training images."""
    from datasets.worlds import WORLDS
    from datasets.worlds.figures import FiguresWorld

    default = WORLDS.get(world).default_counts  # null counts: the real dataset's split sizes
    size = int(counts["size"])
    n_train, n_test = int(counts.get("train") or default["train"]), int(counts.get("test") or default["val"])
    reposing = world == "figures"
    n_base = -(-n_train // 2) if reposing else n_train
    data = load_world(world, n_train=n_base, n_val=n_test, size=size, seed=int(retrieval["seed"]), with_inputs=True)
    tr, va, enc = data.splits["train"], data.splits["val"], ENCODINGS[encoding]
    train = read_split(tr, range(n_base), size, enc)
    pairs = None
    if reposing:
        n_rep = n_train - n_base
        train = concat(train, read_split(tr, range(n_rep), size, enc, items=lambda i: FiguresWorld.self_pair(tr, i)))
        pairs = np.full(n_train, -1, np.int64)
        pairs[:n_rep], pairs[n_base:] = np.arange(n_base, n_train), np.arange(n_rep)
    test = read_split(va, range(n_test), size, enc)
    retriever = Retriever(bool(retrieval["allow_uncalibrated"]), int(retrieval["seed"]))
    lists, embeddings = training_lists(train, retriever, retrieval["lists"], int(retrieval["k"]),
                                       int(retrieval["seed"]))
    if embeddings is None:
        embeddings = retriever.embed(train.image_tensor(np.arange(n_base)))
    query = class_mean_render(test.labels, class_means(train.images, train.labels, len(train.label_set)))
    exemplars = nearest(retriever.embed(query), embeddings[:n_base])
    exact = np.stack([va.exact_translation(i, int(e), exemplar_split=tr) for i, e in enumerate(exemplars)])
    rule = ("test exemplar: the training image nearest (VGG-19 pool5 cosine) to the class-mean rendering of the "
            "test label map (stand-in for the paper's plain-network query)")
    fingerprint = settings_hash({"world": data.fingerprint, "reposed": n_train - n_base, "encoding": encoding,
                                 "dataset": dataset, "exemplars": exemplars.tolist(), "lists": lists.tolist()},
                                length=16)
    return LoadedData(train, test, take(train, exemplars), lists, pairs, exact, world, fingerprint,
                      data.description, rule, retriever.settings() | {"k": int(lists.shape[1]),
                                                                      "lists": retrieval["lists"]},
                      retriever.calibrated, dict(data.files))


def load_real(reader: str, data_cfg: dict[str, Any], encoding: str, counts: dict[str, Any],
              retrieval: dict[str, Any], dataset: str, scale: str) -> LoadedData:
    """A real reader's ``val`` split (test inputs of the published pairs that are present, first ``test``) and
    ``train`` split (first ``train``). Without a train split (e.g. the demo samples) the smoke scale trains on the
    val split and says so in the data source (``+trained_on_val``); other scales refuse."""
    ds = REAL_DATASETS.get(reader)(data_cfg.get("root"))
    size, enc = int(counts["size"]), ENCODINGS[encoding]
    val = ds.make_split("val")
    published = ds.published_pairs()
    by_name: dict[str, tuple[Any, int]] = {}
    for split_name in ds.split_names:
        try:
            split = val if split_name == "val" else ds.make_split(split_name)
        except DataError:
            continue
        for i, entry in enumerate(split.entries):
            by_name.setdefault(entry.name, (split, i))
    unlisted = [b for _, b in published.present_pairs() if b not in by_name]
    if unlisted and hasattr(ds, "named_split"):  # exemplars no split list names (DeepFashion: training images)
        named = ds.named_split(unlisted)
        for i, entry in enumerate(named.entries):
            by_name.setdefault(entry.name, (named, i))
    val_index = {e.name: i for i, e in enumerate(val.entries)}
    pairs = [(a, b) for a, b in published.present_pairs() if a in val_index and b in by_name]
    if not pairs:
        raise DataError(f"{reader}: none of the {len(published.pairs)} published test pairs in {published.source} "
                        f"has its input (val) and exemplar present under {ds.root}",
                        hint=f"point the root at the dataset the list was published for {ROOT_SETTING}")
    pairs = pairs[: int(counts["test"]) if counts.get("test") else None]
    train_split, source_name = train_split_or_val(ds, val, reader, scale,
                                                  "add the official train.txt / training folder")
    n_train = min(len(train_split), int(counts["train"])) if counts.get("train") else len(train_split)
    train = read_split(train_split, range(n_train), size, enc)
    test = read_split(val, [val_index[a] for a, _ in pairs], size, enc)
    refs = read_split(val, range(len(pairs)), size, enc,
                      items=lambda j: by_name[pairs[j][1]][0].item(by_name[pairs[j][1]][1]))
    retriever = Retriever(bool(retrieval["allow_uncalibrated"]), int(retrieval["seed"]))
    lists, _ = training_lists(train, retriever, retrieval["lists"], int(retrieval["k"]), int(retrieval["seed"]))
    people = same_person(train.names) if dataset == "deepfashion" else None
    files: dict[str, str] = {}
    for split in {id(s): s for s, _ in by_name.values()}.values():  # each split once: what was read from it
        files.update(split.files)
    files = dict(sorted(files.items()))
    fingerprint = settings_hash({"reader": reader, "files": files, "pairs": pairs, "train": train.names,
                                 "encoding": encoding, "size": size, "lists": lists.tolist()}, length=16)
    rule = f"test exemplar: the published pair of {published.source.name} (the exemplar CoCosNet's test uses)"
    description = (f"{source_name}: {len(train)} train / {len(test)} test items from {ds.root} (real data), "
                   f"{len(published.missing)} listed images absent")
    return LoadedData(train, test, refs, lists, people, None, source_name, fingerprint, description, rule,
                      retriever.settings() | {"k": int(lists.shape[1]), "lists": retrieval["lists"]},
                      retriever.calibrated, files)
