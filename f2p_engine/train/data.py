"""Training data: a source of aligned samples -> model inputs and targets for one model.

A `SampleSource` is anything indexable that yields `Sample`s (the synthetic dataset reader, or
`ArraySource` over arrays in memory). `CropDataset` crops and preprocesses on the fly with the
model's own `Preprocessing` (the same `preprocess` inference uses), so no crop is stored and no
image is held twice. `embed_dataset` runs a frozen backbone once over a dataset: the cached
features make feature-extraction training cost a few seconds per epoch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from f2p_engine.errors import InputError
from f2p_engine.headmodel import schema
from f2p_engine.nets.model import ParamNet
from f2p_engine.nets.spec import OutputLayout, Preprocessing, preprocess
from f2p_engine.synth.dataset import SyntheticDataset


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One training sample.

    `image`: (S, S, 3) uint8 RGB aligned face; `landmarks`: (68, 2) float, aligned-image pixels;
    `continuous`: (len(schema.CONTINUOUS),) float32 in [0, 1], schema order;
    `discrete`: (len(schema.DISCRETE_GROUPS),) int64 option indices, schema order;
    `descriptor`: (128,) float32 identity descriptor of the image, when the source stores one.
    """

    image: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    continuous: np.ndarray = field(repr=False)
    discrete: np.ndarray = field(repr=False)
    descriptor: np.ndarray | None = field(default=None, repr=False)


class SampleLike(Protocol):
    """What training reads of a sample (the synthetic dataset's samples and `Sample` both have it)."""

    image: np.ndarray
    landmarks: np.ndarray
    continuous: np.ndarray
    discrete: np.ndarray
    descriptor: np.ndarray | None


class SampleSource(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> SampleLike: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ArraySource:
    """Samples held in arrays: images (N, S, S, 3) uint8, landmarks (N, 68, 2), continuous (N, 111)
    float32, discrete (N, G) int64 (`Sample` explains each)."""

    images: np.ndarray = field(repr=False)
    landmarks: np.ndarray = field(repr=False)
    continuous: np.ndarray = field(repr=False)
    discrete: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Sample:
        return Sample(image=self.images[index], landmarks=self.landmarks[index],
                      continuous=self.continuous[index], discrete=self.discrete[index])


class DatasetSource:
    """A `SampleSource` over a synthetic dataset folder (`f2p generate`); shards stay memory-mapped."""

    def __init__(self, dataset: SyntheticDataset) -> None:
        manifest = dataset.manifest
        if manifest.get("schema_version") != schema.SCHEMA_VERSION or \
                list(manifest.get("parameters", [])) != [p.name for p in schema.CONTINUOUS]:
            raise InputError(f"{dataset.folder}: dataset made for another parameter schema "
                             f"(version {manifest.get('schema_version')}); regenerate it with `f2p generate`")
        self.dataset = dataset
        self.shard_size = int(manifest["shard_size"])
        self._shards: dict[int, dict[str, np.ndarray]] = {}

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> DatasetSource:
        """InputError if `folder` is not a complete dataset of this schema."""
        return cls(SyntheticDataset.open(folder))

    @property
    def info(self) -> dict[str, Any]:
        """Seed, count and image size of the dataset (recorded in the model manifest)."""
        return {k: self.dataset.manifest[k] for k in ("seed", "count", "size", "generator_version")}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self):
            raise IndexError(index)
        shard, offset = divmod(int(index), self.shard_size)
        if shard not in self._shards:
            self._shards[shard] = self.dataset.arrays(shard)
        arrays = self._shards[shard]
        return Sample(image=arrays["images"][offset], landmarks=arrays["landmarks"][offset],
                      continuous=arrays["continuous"][offset], discrete=arrays["discrete"][offset],
                      descriptor=arrays["descriptor"][offset] if "descriptor" in arrays else None)


class Subset:
    """The samples of `source` at `indices` (a train/validation split without copying)."""

    def __init__(self, source: SampleSource, indices: Sequence[int]) -> None:
        self.source, self.indices = source, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> SampleLike:
        return self.source[int(self.indices[index])]


def split_indices(count: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) int64 index arrays: a seeded permutation of range(count), split once."""
    order = np.random.default_rng(seed).permutation(count)
    cut = count - max(1, round(count * validation_fraction))
    return np.sort(order[:cut]), np.sort(order[cut:])


class CropDataset(Dataset):
    """Items: (input float32 (3, H, W), continuous float32 (P,), discrete int64 (G,)) for one model."""

    def __init__(self, source: SampleSource, preprocessing: Preprocessing, layout: OutputLayout) -> None:
        self.source, self.preprocessing = source, preprocessing
        self.params, self.groups = layout.param_indices, layout.group_indices

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        sample = self.source[index]
        image = preprocess(sample.image, sample.landmarks, self.preprocessing)
        return (torch.from_numpy(image),
                torch.from_numpy(np.asarray(sample.continuous, dtype=np.float32)[self.params]),
                torch.from_numpy(np.asarray(sample.discrete, dtype=np.int64)[self.groups]))


def targets_of(source: SampleSource) -> tuple[np.ndarray, np.ndarray]:
    """All targets of a source: continuous (N, 111) float32 and discrete (N, G) int64, schema order."""
    continuous = np.empty((len(source), len(schema.CONTINUOUS)), dtype=np.float32)
    discrete = np.empty((len(source), len(schema.DISCRETE_GROUPS)), dtype=np.int64)
    for i in range(len(source)):
        sample = source[i]
        continuous[i], discrete[i] = sample.continuous, sample.discrete
    return continuous, discrete


@torch.no_grad()
def embed_dataset(model: ParamNet, dataset: CropDataset, batch_size: int = 64) -> TensorDataset:
    """Frozen-backbone features of every item: TensorDataset of (features (N, F), continuous, discrete)."""
    was_training = model.training
    model.eval()
    features, continuous, discrete = [], [], []
    for images, cont, disc in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        features.append(model.embed(images))
        continuous.append(cont)
        discrete.append(disc)
    model.train(was_training)
    return TensorDataset(torch.cat(features), torch.cat(continuous), torch.cat(discrete))
