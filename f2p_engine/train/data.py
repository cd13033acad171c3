"""Training data: a source of aligned samples -> model inputs and targets for one model.

A `SampleSource` (`synth.reader`: the synthetic dataset reader `DatasetSource`, or `ArraySource`
over arrays in memory) yields `DatasetSample`s. `CropDataset` crops and preprocesses on the fly with the
model's own `Preprocessing` (the same `preprocess` inference uses), so no crop is stored and no
image is held twice. `embed_dataset` runs a frozen backbone once over a dataset: the cached
features make feature-extraction training cost a few seconds per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from f2p_engine.headmodel import schema
from f2p_engine.nets.model import ParamNet
from f2p_engine.nets.spec import OutputLayout, Preprocessing, preprocess
from f2p_engine.synth.reader import DatasetSample, SampleSource


class Subset:
    """The samples of `source` at `indices` (a train/validation split without copying)."""

    def __init__(self, source: SampleSource, indices: Sequence[int]) -> None:
        self.source, self.indices = source, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> DatasetSample:
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
