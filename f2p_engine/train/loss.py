"""The paper's multi-part loss: per-region L1 (or L2) on sliders + cross-entropy per discrete group.

Adaptive term weights: learned homoscedastic uncertainty weighting (Kendall, Gal & Cipolla 2018).
Each term k has a learned log-scale s_k and contributes exp(-s_k) * L_k + s_k. For fixed L_k the
optimum is s_k = log L_k, so every term is effectively divided by its own running magnitude:
regions with large errors cannot drown out small ones and no weight has to be hand-tuned. The
s_k are trained with the model (they are this module's parameters: give them to the optimiser).

`discrete_weight` scales every cross-entropy term. Measured on 4k samples: an easy discrete term
(eye colour, learnt to 0.99) at weight 1 drowned the eye sliders (holdout L1 stayed at the
baseline), and uncertainty weighting made it worse (a term going to 0 gets an unbounded weight);
a small fixed weight with adaptive weighting off lets the sliders learn.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from f2p_engine.headmodel import schema
from f2p_engine.nets.spec import OutputLayout

SliderLoss = Literal["l1", "l2"]


class MultiPartLoss(nn.Module):
    """Loss of one model's outputs against its targets.

    `forward(outputs, continuous, discrete)`: `outputs` as the model returns them; `continuous`
    float32 (N, P) targets in [0, 1] in `layout.params` order; `discrete` int64 (N, G) option
    indices in `layout.groups` order. Returns (total scalar, {term name: unweighted value}).
    `outputs` may stop after the sliders (a feature phase trains the slider head alone).
    """

    def __init__(self, layout: OutputLayout, slider_loss: SliderLoss = "l1", adaptive: bool = True,
                 discrete_weight: float = 1.0) -> None:
        super().__init__()
        if slider_loss not in ("l1", "l2"):
            raise ValueError(f"unknown slider loss {slider_loss!r}")
        region_of = {p.name: p.region for p in schema.CONTINUOUS}
        regions = [region_of[name] for name in layout.params]
        self.regions = tuple(dict.fromkeys(regions))
        for region in self.regions:
            self.register_buffer(f"mask_{region}", torch.tensor([r == region for r in regions]), persistent=False)
        self.groups = tuple(name for name, _ in layout.groups)
        self.term_names = tuple(f"slider_{r}" for r in self.regions) + tuple(f"ce_{g}" for g in self.groups)
        self.slider_loss = slider_loss
        self.log_scales = nn.Parameter(torch.zeros(len(self.term_names)), requires_grad=adaptive)
        scale = [1.0] * len(self.regions) + [discrete_weight] * len(self.groups)
        self.register_buffer("term_scale", torch.tensor(scale), persistent=False)

    def terms(self, outputs: tuple[torch.Tensor, ...], continuous: torch.Tensor,
              discrete: torch.Tensor) -> torch.Tensor:
        """Unweighted terms, float32 (T,), in `term_names` order."""
        error = outputs[0] - continuous
        error = error.abs() if self.slider_loss == "l1" else error.square()
        sliders = [error[:, getattr(self, f"mask_{r}")].mean() for r in self.regions]
        entropies = [F.cross_entropy(logits, discrete[:, g]) for g, logits in enumerate(outputs[1:])]
        return torch.stack(sliders + entropies)

    def forward(self, outputs: tuple[torch.Tensor, ...], continuous: torch.Tensor,
                discrete: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        terms = self.terms(outputs, continuous, discrete)
        # Slider terms come first: outputs without logits (the feature phase) weigh the sliders only.
        log_scales, term_scale = self.log_scales[:len(terms)], self.term_scale[:len(terms)]
        total = (torch.exp(-log_scales) * term_scale * terms + log_scales).sum()
        return total, dict(zip(self.term_names, terms.detach().tolist(), strict=True))
