"""Intermediate feature maps of a pretrained backbone, fast on CPU.

The backbone is cut after its deepest requested layer, run in inference mode
and channels-last, and (optionally) traced and frozen with TorchScript, which
measured 1.2-1.4x faster on these CPUs. Intel Extension for PyTorch is used
only when it imports. bf16 is not used: without native bf16 it is slower.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Iterable, Sequence

import torch
from torch import nn

from .backbones import BackboneSpec, get_backbone
from .backbones.efficientnet_lite import EfficientNetLite

try:  # optional: retired upstream and pinned to an old torch
    import intel_extension_for_pytorch as ipex
except Exception:  # noqa: BLE001 - any import failure means "not available"
    ipex = None

# Tracing VQI's backbones warns that their padding is fixed per input size: by design, each size is traced apart.
# Filtered once for the process, from VQI's modules only: warnings.catch_warnings around each trace would silence
# every thread's warnings while a training thread traces, and restore filters others changed meanwhile.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"vqi_core\.")


def hide_torchscript_deprecations() -> None:
    """Keep torch's notices that TorchScript's ``trace`` and ``freeze`` are deprecated off the terminal, for the
    process (the command line and the dashboard call it once, as :func:`~vqi_core.images.hide_pillow_warnings`):
    VQI traces its backbones by design (``jit``), and the notices are for developers, not for whoever inspects
    parts. A program that imports VQI keeps them."""
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit\.")


def trunk_stages(model: nn.Module) -> "OrderedDict[str, nn.Module]":
    """The backbone as an ordered list of named stages whose outputs can be tapped."""
    if isinstance(model, EfficientNetLite):
        stages: OrderedDict[str, nn.Module] = OrderedDict(stem=nn.Sequential(model.conv_stem, model.bn1, nn.ReLU6()))
        for index, stage in enumerate(model.blocks):
            stages[f"blocks.{index}"] = stage
        return stages
    if hasattr(model, "layer1"):  # torchvision ResNet family
        stem = [getattr(model, name) for name in ("conv1", "bn1", "relu", "maxpool")]
        stages = OrderedDict(stem=nn.Sequential(*stem))
        for name in ("layer1", "layer2", "layer3", "layer4"):
            stages[name] = getattr(model, name)
        return stages
    raise TypeError(f"no stage layout known for {type(model).__name__}")


class Trunk(nn.Module):
    """Runs the stages up to the deepest requested layer and returns the requested maps."""

    def __init__(self, model: nn.Module, layers: Sequence[str]):
        super().__init__()
        stages = trunk_stages(model)
        unknown = [name for name in layers if name not in stages]
        if unknown:
            raise ValueError(f"unknown layers {unknown}; available: {list(stages)[1:]}")
        last = max(list(stages).index(name) for name in layers)
        self.names = list(stages)[: last + 1]
        self.stages = nn.ModuleList(stages[name] for name in self.names)
        self.layers = list(layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The requested layers' feature maps, in the requested order."""
        taps: dict[str, torch.Tensor] = {}
        run_stages(self.names, self.stages, self.layers, x, taps)
        return tuple(taps[name] for name in self.layers)


def run_stages(names: Sequence[str], stages: Iterable[nn.Module], layers: Sequence[str], x: torch.Tensor,
               taps: dict[str, torch.Tensor]) -> torch.Tensor:
    """``x`` through ``stages`` (named ``names``) in turn, the output of each stage named in ``layers`` kept in
    ``taps``; the last stage's output."""
    for name, stage in zip(names, stages):
        x = stage(x)
        if name in layers:
            taps[name] = x
    return x


class FeatureExtractor:
    """Feature maps of named backbone layers for a batch of normalised images."""

    def __init__(self, backbone: str | BackboneSpec, layers: Sequence[str], *,
                 state_dict: dict[str, torch.Tensor] | None = None, jit: bool = True, pretrained: bool = True):
        self.spec = get_backbone(backbone) if isinstance(backbone, str) else backbone
        self.layers = list(layers)
        model = self.spec.network(state_dict, pretrained)  # fine-tuned weights replace the pretrained ones
        self.trunk = Trunk(model.eval(), self.layers).eval().to(memory_format=torch.channels_last)
        for parameter in self.trunk.parameters():
            parameter.requires_grad_(False)
        if ipex is not None:
            self.trunk = ipex.optimize(self.trunk)
        self.jit = jit
        self._traced: dict[tuple[int, ...], torch.jit.ScriptModule] = {}
        # one extractor can serve several dashboard sessions at once: each input shape is traced once, by one thread
        self._tracing = threading.Lock()

    @property
    def channels(self) -> list[int]:
        """Channels of each requested layer."""
        return self.spec.layer_channels(self.layers)

    def _module_for(self, x: torch.Tensor) -> nn.Module:
        if not self.jit:
            return self.trunk
        key = tuple(x.shape[1:])
        with self._tracing:
            if key not in self._traced:
                with torch.no_grad():
                    traced = torch.jit.trace(self.trunk, x, check_trace=False)
                    self._traced[key] = torch.jit.freeze(traced.eval())
            return self._traced[key]

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps (NCHW, float32, contiguous) of each requested layer."""
        x = x.contiguous(memory_format=torch.channels_last)
        module = self._module_for(x)
        with torch.inference_mode():
            outputs = module(x)
        return [out.contiguous() for out in outputs]
