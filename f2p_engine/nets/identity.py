"""`IdentityNet`: identity descriptor (N, 128) -> continuous (N, P) in [0, 1].

The identity member of the ensemble. Its input is dlib's face-recognition descriptor of the
aligned face (`face.identity.face_descriptor`): a representation trained on real faces, built to
ignore lighting, expression and background, that still sees renders as faces. The regressor on
top is learned from synthetic renders: a linear map (ridge regression, fitted in closed form) or
a small MLP. Inputs are standardised by the training descriptors' mean and std (buffers, so the
ONNX export carries them); outputs reach the schema's normalised range [0, 1] by clamping (ridge:
a linear fit must stay linear inside the range) or by a sigmoid (mlp, which trains through it).
"""

from __future__ import annotations

import torch
from torch import nn

from f2p_engine.face.identity import DESCRIPTOR_SIZE
from f2p_engine.nets.spec import OutputLayout


class IdentityNet(nn.Module):
    """Standardise -> linear and clamp (hidden = 0) or Linear-ReLU-Dropout-Linear-sigmoid: [0, 1]."""

    def __init__(self, params: tuple[str, ...], hidden: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.layout = OutputLayout(params=tuple(params), groups=())
        self.register_buffer("mean", torch.zeros(DESCRIPTOR_SIZE))
        self.register_buffer("std", torch.ones(DESCRIPTOR_SIZE))
        if hidden:
            self.body = nn.Sequential(nn.Linear(DESCRIPTOR_SIZE, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                      nn.Linear(hidden, len(params)))
        else:
            self.body = nn.Linear(DESCRIPTOR_SIZE, len(params))

    @property
    def kind(self) -> str:
        return "mlp" if isinstance(self.body, nn.Sequential) else "ridge"

    def standardise(self, descriptors: torch.Tensor) -> torch.Tensor:
        return (descriptors - self.mean) / self.std

    def head(self, standardised: torch.Tensor) -> torch.Tensor:
        """Standardised descriptors (N, 128) -> continuous (N, P) in [0, 1]."""
        out = self.body(standardised)
        return torch.sigmoid(out) if self.kind == "mlp" else torch.clamp(out, 0.0, 1.0)

    def forward(self, descriptors: torch.Tensor) -> torch.Tensor:
        return self.head(self.standardise(descriptors))
