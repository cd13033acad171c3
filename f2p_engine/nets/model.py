"""`ParamNet`: image (N, 3, H, W) -> (continuous, *logits).

Sliders: backbone -> grid pooling -> `SliderHead`. Discrete groups: a `ClassifierBranch` with a
small backbone of its own (see there why they share nothing with the sliders).

Outputs, in `layout.output_names` order: `continuous` float32 (N, P) in [0, 1] (sigmoid, the
schema's normalised units), then one `logits_<group>` float32 (N, K_group) per discrete group.

Transfer modes (the paper's two): "feature_extraction" freezes the backbone (weights and
BatchNorm statistics) and trains the head only, so backbone features can be computed once and
cached; "fine_tuning" trains everything, starting from the feature-extraction weights. The
classifier branch always trains from scratch on images, so it learns in the fine-tuning phase.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from f2p_engine.nets.spec import OutputLayout, Preprocessing

TransferMode = Literal["feature_extraction", "fine_tuning"]


class SliderHead(nn.Module):
    """Pooled features (N, F) -> continuous (N, P) in [0, 1]."""

    def __init__(self, in_features: int, params: int, hidden: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        width = in_features
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, params)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.body(features)))


class ClassifierBranch(nn.Module):
    """Image (N, 3, H, W) -> logits (N, K_g) per discrete group, through its own small backbone.

    The discrete groups do not share the slider backbone: their cross-entropy gradients, large
    and quickly rewarded (eye colour is one glance at the iris), were measured to stop the shared
    features from learning the millimetre-scale slider geometry at all.
    """

    def __init__(self, backbone: nn.Module, groups: tuple[tuple[str, int], ...]) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.sizes = [count for _, count in groups]
        self.out = nn.Linear(backbone.out_channels, sum(self.sizes))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return torch.split(self.out(torch.flatten(self.pool(self.backbone(x)), 1)), self.sizes, dim=1)


class ParamNet(nn.Module):
    """A backbone with a slider head, plus a classifier branch when the layout has discrete groups.
    `config` rebuilds it via `create_net(**config)`."""

    def __init__(self, backbone: nn.Module, *, preprocessing: Preprocessing, layout: OutputLayout, pool: int,
                 hidden: int, dropout: float, classifier: ClassifierBranch | None, config: dict[str, Any]) -> None:
        super().__init__()
        if bool(layout.groups) != (classifier is not None):
            raise ValueError("a classifier branch is needed exactly when the layout has discrete groups")
        self.backbone = backbone
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.head = SliderHead(backbone.out_channels * pool * pool, len(layout.params), hidden, dropout)
        self.classifier = classifier
        self.preprocessing = preprocessing
        self.layout = layout
        self.config = config
        self.transfer_mode: TransferMode = "fine_tuning"

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features pooled on the grid and flattened: (N, 3, H, W) -> (N, F) float32."""
        return torch.flatten(self.pool(self.backbone(x)), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        sliders = self.head(self.embed(x))
        return (sliders,) if self.classifier is None else (sliders, *self.classifier(x))

    def set_transfer_mode(self, mode: TransferMode) -> None:
        """Freeze (feature extraction) or unfreeze (fine-tuning) the backbone."""
        if mode not in ("feature_extraction", "fine_tuning"):
            raise ValueError(f"unknown transfer mode {mode!r}")
        self.transfer_mode = mode
        for parameter in self.backbone.parameters():
            parameter.requires_grad_(mode == "fine_tuning")
        self.train(self.training)

    def train(self, mode: bool = True) -> ParamNet:
        super().train(mode)
        if self.transfer_mode == "feature_extraction":
            # Frozen means frozen: BatchNorm must not update its running statistics either.
            self.backbone.eval()
        return self
