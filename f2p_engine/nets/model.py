"""`ParamNet`: backbone -> grid pooling -> head; image (N, 3, H, W) -> (continuous, *logits).

Outputs, in `layout.output_names` order: `continuous` float32 (N, P) in [0, 1] (sigmoid, the
schema's normalised units), then one `logits_<group>` float32 (N, K_group) per discrete group.

Transfer modes (the paper's two): "feature_extraction" freezes the backbone (weights and
BatchNorm statistics) and trains the head only, so backbone features can be computed once and
cached; "fine_tuning" trains everything, starting from the feature-extraction weights.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from f2p_engine.nets.spec import OutputLayout, Preprocessing

TransferMode = Literal["feature_extraction", "fine_tuning"]


class ParamHead(nn.Module):
    """Pooled features (N, F) -> (continuous (N, P) in [0, 1], *logits (N, K_g))."""

    def __init__(self, in_features: int, layout: OutputLayout, hidden: int, dropout: float) -> None:
        super().__init__()
        self.sizes = [len(layout.params)] + [count for _, count in layout.groups]
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        width = in_features
        if hidden:
            layers += [nn.Linear(in_features, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, sum(self.sizes))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, ...]:
        parts = torch.split(self.out(self.body(features)), self.sizes, dim=1)
        return (torch.sigmoid(parts[0]), *parts[1:])


class ParamNet(nn.Module):
    """A backbone with a parameter head. `config` rebuilds it via `create_net(**config)`."""

    def __init__(self, backbone: nn.Module, *, preprocessing: Preprocessing, layout: OutputLayout, pool: int,
                 hidden: int, dropout: float, config: dict[str, Any]) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = nn.AdaptiveAvgPool2d(pool)
        self.head = ParamHead(backbone.out_channels * pool * pool, layout, hidden, dropout)
        self.preprocessing = preprocessing
        self.layout = layout
        self.config = config
        self.transfer_mode: TransferMode = "fine_tuning"

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features pooled on the grid and flattened: (N, 3, H, W) -> (N, F) float32."""
        return torch.flatten(self.pool(self.backbone(x)), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.head(self.embed(x))

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
