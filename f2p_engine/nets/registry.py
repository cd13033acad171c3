"""A tiny timm-like registry: `register_net` names a backbone builder, `create_net` builds a `ParamNet`.

    net = create_net("mobilenetv2", crop="eyes", input_size=64)

builds a model for the eyes crop whose preprocessing spec (`net.preprocessing`) and output layout
(`net.layout`, read from the schema) travel with it; `create_net(**net.config)` rebuilds the same
architecture (then load the weights).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from f2p_engine.nets.backbones import MobileNetV2, SmallCNN
from f2p_engine.nets.model import ClassifierBranch, ParamNet
from f2p_engine.nets.spec import FACE, HALF_MEAN, HALF_STD, IMAGENET_MEAN, IMAGENET_STD, Preprocessing, output_layout
from f2p_engine.nets.spec import input_size as crop_input_size

BackboneBuilder = Callable[[bool], nn.Module]
#: Width of the `SmallCNN` behind every classifier branch (about a quarter of `smallcnn16`'s cost).
CLASSIFIER_WIDTH = 8


@dataclass(frozen=True, slots=True)
class _Entry:
    build: BackboneBuilder
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    pretrainable: bool


_REGISTRY: dict[str, _Entry] = {}


def register_net(name: str, *, mean: tuple[float, float, float], std: tuple[float, float, float],
                 pretrainable: bool) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Decorator: register `build(pretrained) -> backbone` (an nn.Module with `out_channels`) as `name`."""

    def decorate(build: BackboneBuilder) -> BackboneBuilder:
        if name in _REGISTRY:
            raise ValueError(f"net {name!r} is already registered")
        _REGISTRY[name] = _Entry(build, mean, std, pretrainable)
        return build

    return decorate


def list_nets() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def is_pretrainable(name: str) -> bool:
    return _entry(name).pretrainable


def create_net(name: str, *, crop: str = FACE, input_size: int = 96, pretrained: bool = False, pool: int = 1,
               hidden: int = 256, dropout: float = 0.1) -> ParamNet:
    """Build a `ParamNet` for `crop` ("face" or a local region).

    `input_size` is the shorter input side in pixels (the longer follows the crop's aspect);
    `pool` the side of the average-pooling grid before the head (1 = global average pooling;
    it must divide the backbone's feature map); `pretrained` loads ImageNet weights where the
    backbone has them. Raises ValueError for an unknown name or an impossible pooling grid.
    """
    entry = _entry(name)
    height, width = crop_input_size(crop, input_size)
    spec = Preprocessing(crop=crop, height=height, width=width, mean=entry.mean, std=entry.std)
    backbone = entry.build(pretrained and entry.pretrainable)
    _check_pool(backbone, spec, pool)
    config = {"name": name, "crop": crop, "input_size": input_size, "pool": pool, "hidden": hidden,
              "dropout": dropout}
    layout = output_layout(crop)
    classifier = ClassifierBranch(SmallCNN(width=CLASSIFIER_WIDTH), layout.groups) if layout.groups else None
    return ParamNet(backbone, preprocessing=spec, layout=layout, pool=pool, hidden=hidden, dropout=dropout,
                    classifier=classifier, config=config)



def _entry(name: str) -> _Entry:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown net {name!r}; registered: {', '.join(list_nets())}") from None


def _check_pool(backbone: nn.Module, spec: Preprocessing, pool: int) -> None:
    with torch.no_grad():
        was_training = backbone.training
        fmap = backbone.eval()(torch.zeros(1, 3, spec.height, spec.width)).shape[-2:]
        backbone.train(was_training)
    if pool < 1 or fmap[0] % pool or fmap[1] % pool:
        raise ValueError(f"pool grid {pool} does not divide the {fmap[0]}x{fmap[1]} feature map of a "
                         f"{spec.height}x{spec.width} {spec.crop} input; pick another pool or input size")


@register_net("mobilenetv2", mean=IMAGENET_MEAN, std=IMAGENET_STD, pretrainable=True)
def _mobilenetv2(pretrained: bool) -> nn.Module:
    net = MobileNetV2()
    if pretrained:
        net.load_imagenet()
    return net


@register_net("mobilenetv2_s16", mean=IMAGENET_MEAN, std=IMAGENET_STD, pretrainable=True)
def _mobilenetv2_s16(pretrained: bool) -> nn.Module:
    """MobileNetV2 cut after the 96-channel stage (stride 16): cheaper, finer maps for small crops."""
    net = MobileNetV2(blocks=14)
    if pretrained:
        net.load_imagenet()
    return net


@register_net("smallcnn", mean=HALF_MEAN, std=HALF_STD, pretrainable=False)
def _smallcnn(pretrained: bool) -> nn.Module:
    return SmallCNN(width=32)


@register_net("smallcnn16", mean=HALF_MEAN, std=HALF_STD, pretrainable=False)
def _smallcnn16(pretrained: bool) -> nn.Module:
    """Half the width of `smallcnn`: a quarter of the weights (about 2 MB as ONNX), for the size budget."""
    return SmallCNN(width=16)
