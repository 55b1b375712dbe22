"""Self-supervised fine-tuning of a backbone on defect-free images only.

Two kinds, both of which return the FULL backbone's ``state_dict()`` (what
``get_backbone(name).build(False)`` loads), so that a method's feature
extractor uses the adapted weights from then on:

- ``cutpaste`` (Li et al., "CutPaste: Self-Supervised Learning for Anomaly
  Detection and Localization", CVPR 2021): classify normal / CutPaste / scar
  crops; see :mod:`vqi_core.finetune.cutpaste`;
- ``simsiam`` (Chen and He, "Exploring Simple Siamese Representation
  Learning", CVPR 2021): pull two augmented views together with a predictor
  and a stop-gradient; see :mod:`vqi_core.finetune.simsiam`.

Shared design, chosen for a few minutes of CPU time and stable features:

- the images are preprocessed exactly as at inference (the model's own
  :class:`~vqi_core.preprocessing.Preprocessing`) and training uses random
  crops of that input, so the features keep the scale they have at inference
  while each step costs a fraction of a full image;
- only the last ``train_stages`` stages up to the deepest layer the method
  reads are trained; earlier stages are frozen and run without gradients;
- every BatchNorm keeps its pretrained running statistics (eval mode), which
  small CPU batches could not estimate well, and the trained network behaves
  the same in training and inference;
- all randomness comes from one seeded ``numpy`` Generator and a forked,
  seeded torch RNG: the same seed gives identical weights;
- progress is reported per batch with the stage ``"fine-tuning (<Kind>) epoch
  e/E"``; a callback raising :class:`~vqi_core.progress.Cancelled` stops it.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..backbones import get_backbone
from ..features import run_stages, trunk_stages
from ..preprocessing import Preprocessing
from ..progress import MAX_SEED, ProgressCallback, report

if TYPE_CHECKING:
    from ..methods.base import AnomalyModel

FINETUNE_KINDS = ("cutpaste", "simsiam")


@dataclass
class FinetuneResult:
    """Fine-tuned full backbone state dict, and how training went (no timing: the run's ``fit_seconds`` holds the
    whole fit, so that the same fine-tuning saves the same model files)."""

    state: dict[str, torch.Tensor]
    epoch_losses: list[float]
    trained_stages: list[str] = field(default_factory=list)


#: the range of each fine-tuning parameter that has one: (lowest, highest, whether the lowest is allowed)
_PARAMETER_RANGES: dict[str, tuple[float, float, bool]] = {
    "epochs": (1, 1000, True), "batch_size": (1, 4096, True), "crop_size": (16, 2048, True),
    "train_stages": (1, 16, True), "lr": (0, 10, False), "head_lr": (0, 10, False), "weight_decay": (0, 10, True),
    "dim": (1, 65_536, True), "hidden": (1, 65_536, True), "seed": (0, MAX_SEED, True)}


def check_finetune(kind: str | None, params: dict[str, Any] | None) -> dict[str, Any]:
    """``params`` of fine-tuning ``kind`` checked before any image is read (names, whole numbers, ranges: a
    negative learning rate would make the features worse and still write a run), whole numbers given as floats
    made whole; ``ValueError`` naming the parameter otherwise. None or no kind: no fine-tuning (then no params)."""
    params = dict(params or {})
    if kind is None:
        if params:
            raise ValueError(f"finetune_params ({', '.join(sorted(params))}) given without finetune: choose "
                             f"{' or '.join(FINETUNE_KINDS)}, or leave them out")
        return params
    if kind not in FINETUNE_KINDS:
        raise ValueError(f"unknown fine-tuning kind {kind!r}; choose from {', '.join(FINETUNE_KINDS)}")
    from .cutpaste import train_cutpaste
    from .simsiam import train_simsiam

    trainer = train_cutpaste if kind == "cutpaste" else train_simsiam
    defaults = {name: parameter.default for name, parameter in inspect.signature(trainer).parameters.items()
                if parameter.kind == parameter.KEYWORD_ONLY}
    for name, value in params.items():
        if name == "seed" and value is None:  # the model's seed, as by default
            continue
        if name not in defaults:
            raise ValueError(f"{name!r} is not a parameter of {kind} fine-tuning; its parameters: "
                             f"{', '.join(sorted(defaults))}")
        whole = name == "seed" or isinstance(defaults[name], int)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or (
                whole and not float(value).is_integer()):
            raise ValueError(f"{kind} fine-tuning's {name} must be a {'whole number' if whole else 'finite number'}, "
                             f"not {value!r}")
        low, high, low_allowed = _PARAMETER_RANGES[name]
        if name == "batch_size" and kind == "simsiam":
            low = 2  # its MLPs normalise over the batch
        if not (low <= value <= high if low_allowed else low < value <= high):
            raise ValueError(f"{kind} fine-tuning's {name} must be {'from' if low_allowed else 'above'} {low:g} "
                             f"{'to' if low_allowed else 'and at most'} {high if whole else format(high, 'g')}, "
                             f"not {value!r}")  # (a seed's highest had read 4.29497e+09: API review)
        params[name] = int(value) if whole else float(value)
    return params


def run_finetune(kind: str, images: Sequence[np.ndarray], model: "AnomalyModel",
                 progress: ProgressCallback | None = None, **params: Any) -> FinetuneResult:
    """Fine-tune ``model``'s backbone on good RGB uint8 ``images``: the full backbone state dict, the mean loss of
    each epoch and the stages trained (:class:`FinetuneResult`).

    ``params`` are the keyword arguments of :func:`~vqi_core.finetune.cutpaste.train_cutpaste` or
    :func:`~vqi_core.finetune.simsiam.train_simsiam`.
    """
    if kind == "cutpaste":
        from .cutpaste import train_cutpaste

        return train_cutpaste(images, model, progress, **params)
    if kind == "simsiam":
        from .simsiam import train_simsiam

        return train_simsiam(images, model, progress, **params)
    raise ValueError(f"unknown fine-tuning kind {kind!r}; choose from {', '.join(FINETUNE_KINDS)}")


# ---------------------------------------------------------------------- network
class TrainableTrunk(nn.Module):
    """A backbone's stages up to its deepest requested layer; only the last ``train_stages`` are trained.

    The stages are the full network's own modules, so training them changes
    ``network`` itself and ``network.state_dict()`` is the fine-tuned backbone.
    """

    def __init__(self, network: nn.Module, layers: Sequence[str], train_stages: int):
        super().__init__()
        stages = trunk_stages(network)
        names = list(stages)
        unknown = [name for name in layers if name not in names[1:]]
        if unknown:
            raise ValueError(f"unknown layers {unknown}; available: {names[1:]}")
        if train_stages < 1:
            raise ValueError(f"train_stages must be at least 1, not {train_stages}")
        last = max(names.index(name) for name in layers)
        first_trained = max(1, last + 1 - train_stages)  # the stem is never trained
        self.frozen = nn.ModuleList(stages[n] for n in names[:first_trained])
        self.trained = nn.ModuleList(stages[n] for n in names[first_trained:last + 1])
        self.frozen_names = names[:first_trained]
        self.trained_names = names[first_trained:last + 1]
        self.layers = list(layers)
        # Channels-last convolutions run about twice as fast on CPUs; state_copy() restores the usual layout.
        network.to(memory_format=torch.channels_last)
        for parameter in network.parameters():
            parameter.requires_grad_(False)
        for parameter in self.trained.parameters():
            parameter.requires_grad_(True)

    def train(self, mode: bool = True) -> "TrainableTrunk":
        """Train mode for the trained stages, but every BatchNorm keeps its running statistics."""
        super().train(mode)
        self.frozen.eval()
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
        return self

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The requested layers' feature maps, gradients flowing through the trained stages."""
        taps: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            x = run_stages(self.frozen_names, self.frozen, self.layers, x, taps)
        run_stages(self.trained_names, self.trained, self.layers, x, taps)
        return [taps[name] for name in self.layers]

    def frozen_output(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the frozen stages (no gradients): the input of :meth:`forward_trained`."""
        with torch.no_grad():
            return run_stages(self.frozen_names, self.frozen, self.layers, x, {})

    def forward_trained(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Requested maps from the frozen stages' output; every requested layer must be a trained stage."""
        taps: dict[str, torch.Tensor] = {}
        run_stages(self.trained_names, self.trained, self.layers, x, taps)
        missing = [name for name in self.layers if name not in taps]
        if missing:
            raise ValueError(f"layers {missing} are frozen: their maps need the full forward pass")
        return [taps[name] for name in self.layers]



def build_network(model: "AnomalyModel", pretrained: bool = True, seed: int | None = None) -> nn.Module:
    """The model's full backbone with its current weights (fine-tuned ones if it has them, else
    the pretrained ones, or random ones from ``seed`` when not ``pretrained``):
    :meth:`~vqi_core.backbones.BackboneSpec.network`."""
    return get_backbone(model.backbone).network(model.backbone_state, pretrained, seed)


def prepare_training(images: Sequence[np.ndarray], model: "AnomalyModel", train_stages: int
                     ) -> tuple[nn.Module, TrainableTrunk, list[np.ndarray]]:
    """The full network, its trainable trunk for ``model.layers``, and the images at the network input size."""
    if len(images) == 0:
        raise ValueError("fine-tuning needs at least one good image")
    network = build_network(model)
    trunk = TrainableTrunk(network, model.layers, train_stages)
    return network, trunk, prepare_inputs((model.inspected(image) for image in images), model.preprocessing)


def pooled(features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Global average of each feature map, concatenated: (B, sum of channels)."""
    return torch.cat([f.mean(dim=(2, 3)) for f in features], dim=1)


def state_copy(network: nn.Module) -> dict[str, torch.Tensor]:
    """A detached, contiguous copy of the network's full state dict."""
    return {key: value.detach().clone().contiguous() for key, value in network.state_dict().items()}


# ---------------------------------------------------------------------- data
def prepare_inputs(images: Iterable[np.ndarray], preprocessing: Preprocessing) -> list[np.ndarray]:
    """Each image resized (and cropped) as at inference, as RGB uint8 at the network input size."""
    return [np.round(preprocessing.prepare(image)[0] * 255).astype(np.uint8) for image in images]


def to_tensor(batch: Sequence[np.ndarray], preprocessing: Preprocessing) -> torch.Tensor:
    """RGB uint8 (H, W, 3) arrays of one size -> the backbone's normalised NCHW float tensor, stored
    channels-last (the layout the trunk trains in)."""
    return torch.from_numpy(preprocessing.normalised(np.stack(batch).astype(np.float32) / 255.0)).permute(0, 3, 1, 2)


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` crop (the whole side where the image is smaller)."""
    h, w = image.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    return image[y:y + ch, x:x + cw]


def colour_jitter(image: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float,
                  saturation: float) -> np.ndarray:
    """Random brightness, contrast and saturation factors in ``1 +- strength`` (RGB uint8 in and out)."""
    values = image.astype(np.float32)
    values *= rng.uniform(1 - brightness, 1 + brightness)
    mean = values.mean()
    values = (values - mean) * rng.uniform(1 - contrast, 1 + contrast) + mean
    gray = values.mean(axis=2, keepdims=True)
    values = (values - gray) * rng.uniform(1 - saturation, 1 + saturation) + gray
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


def random_flip(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Horizontal and vertical flips, each with probability 1/2."""
    if rng.random() < 0.5:
        image = image[:, ::-1]
    if rng.random() < 0.5:
        image = image[::-1]
    return np.ascontiguousarray(image)


# ---------------------------------------------------------------------- training loop
def trunk_and_head_optimizer(trunk: nn.Module, head: nn.Module, lr: float, head_lr: float,
                             weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trunk's trained parameters at ``lr`` and the head's at ``head_lr`` (two parameter groups, in
    that order: :func:`train_epochs` schedules each from its own rate)."""
    return torch.optim.AdamW([
        {"params": [p for p in trunk.parameters() if p.requires_grad], "lr": lr},
        {"params": head.parameters(), "lr": head_lr},
    ], weight_decay=weight_decay)


def descend(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """One optimiser step on ``loss``; its value."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def cosine_lr(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to zero."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def train_epochs(step: Callable[[np.ndarray], float], n_items: int, batch_size: int, epochs: int,
                 rng: np.random.Generator, optimizer: torch.optim.Optimizer, label: str,
                 progress: ProgressCallback | None,
                 end_of_epoch: Callable[[int], bool] | None = None) -> list[float]:
    """Run ``epochs`` shuffled passes of ``step(indices) -> loss`` with a warm-up + cosine schedule.

    A last batch of one item is dropped where there are others (a batch statistic needs two; with
    ``batch_size=1`` every batch is one item). ``end_of_epoch(epoch)`` may return True to stop early. Returns
    the mean loss per epoch.
    """
    if n_items == 0:
        raise ValueError("fine-tuning needs at least one good image")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, not {epochs} and {batch_size}")
    per_epoch = max(1, n_items // batch_size + (1 if n_items % batch_size >= 2 else 0))
    total = per_epoch * epochs
    warmup = max(1, total // 10)
    base_rates = [group["lr"] for group in optimizer.param_groups]
    epoch_losses: list[float] = []
    done = 0
    for epoch in range(epochs):
        stage = f"{label} epoch {epoch + 1}/{epochs}"
        order = rng.permutation(n_items)
        batches = [order[i:i + batch_size] for i in range(0, n_items, batch_size)][:per_epoch]
        report(progress, stage, 0, len(batches))
        losses = []
        for index, batch in enumerate(batches):
            factor = cosine_lr(done, total, warmup)
            for group, base in zip(optimizer.param_groups, base_rates):
                group["lr"] = base * factor
            losses.append(step(batch))
            done += 1
            report(progress, stage, index + 1, len(batches))
        epoch_losses.append(float(np.mean(losses)))
        if end_of_epoch is not None and end_of_epoch(epoch):
            break
    for group, base in zip(optimizer.param_groups, base_rates):
        group["lr"] = base
    return epoch_losses


__all__ = ["FINETUNE_KINDS", "FinetuneResult", "TrainableTrunk", "run_finetune"]
