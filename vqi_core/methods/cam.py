"""CAM defect classifier: a supervised baseline that has seen labelled defects.

A pretrained backbone up to ``layers[0]`` (stride 16 by default), global
average pooling and one dense layer give the logit of "defective" (Zhou et
al., "Learning Deep Features for Discriminative Localization", CVPR 2016).
The last ``train_stages`` stages and the dense layer are fine-tuned with a
class-weighted loss (defects are rare) and early stopping on a seeded,
stratified validation part of the labelled images. The image score is
P(defective); the anomaly map is the class activation map of the defective
class, i.e. the dense layer applied to every cell of the feature grid, whose
mean is the image logit.

The frozen stages run once per image before training, and flips are applied
to their output, so each epoch only runs the trained stages: a few minutes on
a CPU. The trained backbone is saved as the model's ``backbone.pt`` tensors,
the dense layer as arrays: nothing is pickled.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import DEFAULT_BACKBONE
from ..embeddings import default_layers, fill_padding
from ..finetune import TrainableTrunk, build_network, descend, state_copy, train_epochs, trunk_and_head_optimizer
from ..preprocessing import Geometry
from ..progress import ProgressCallback, report
from ..samplers import stratified_pick
from .base import AnomalyModel, saved_array

#: default CAM layer per backbone family (stride 16: finer maps than the last stage)
DEFAULT_LAYERS = {"efficientnet": ("blocks.4",), "resnet": ("layer3",)}


class CamClassifier(AnomalyModel):
    """Supervised defect classifier whose class activation map is the anomaly map."""

    name = "cam"
    parameter_help = {
        "epochs": "Most passes over the labelled training images (early stopping may end sooner).",
        "train_stages": "Last backbone stages fine-tuned with the dense layer.",
        "lr": "Learning rate of the fine-tuned backbone stages.",
        "head_lr": "Learning rate of the dense layer.",
        "weight_decay": "Weight decay of both.",
        "validation_fraction": "Share of the labelled images kept aside (stratified, seeded) for early stopping.",
        "patience": "Epochs without a better validation loss before training stops.",
        "pretrained": "Start from the backbone's ImageNet weights (off: random weights).",
    }
    supervised = True
    #: the highest training settings a fit takes, as fine-tuning's (checked when fitting: they play no part in
    #: scoring, so a model saved with more before they were checked still loads and scores)
    fit_limits = {"epochs": 1000, "patience": 1000, "lr": 10, "head_lr": 10, "weight_decay": 10}

    def __init__(self, *, layers: Sequence[str] | None = None, backbone: str = DEFAULT_BACKBONE,
                 epochs: int = 8, train_stages: int = 2, lr: float = 3e-4, head_lr: float = 3e-3,
                 weight_decay: float = 1e-4, validation_fraction: float = 0.2, patience: int = 3,
                 pretrained: bool = True, **common: Any):
        super().__init__(backbone=backbone, layers=layers or default_layers(backbone, DEFAULT_LAYERS), **common)
        if len(self.layers) != 1:
            raise ValueError(f"the CAM classifier reads exactly one layer, not {self.layers}")
        if not 0.0 <= validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must be at least 0 and below 1, not {validation_fraction}")
        if epochs < 1 or patience < 1 or train_stages < 1:  # with no stage trained, training refuses to start
            raise ValueError(f"epochs, patience and train_stages must be at least 1, not {epochs}, "
                             f"{patience} and {train_stages}")
        if not (lr > 0 and head_lr > 0 and weight_decay >= 0):  # a learning rate of 0 or less learns nothing
            raise ValueError(f"lr and head_lr must be positive and weight_decay not negative, not {lr}, {head_lr} "
                             f"and {weight_decay}")
        self.epochs = int(epochs)
        self.train_stages = int(train_stages)
        self.lr = float(lr)
        self.head_lr = float(head_lr)
        self.weight_decay = float(weight_decay)
        self.validation_fraction = float(validation_fraction)
        self.patience = int(patience)
        self.pretrained = bool(pretrained)
        self.weight: torch.Tensor | None = None  # (C,) dense layer weights of the "defective" logit
        self.bias: torch.Tensor | None = None  # (1,)
        #: per epoch: training loss, validation loss (NaN without a validation part); best epoch
        self.history: dict[str, np.ndarray] = {}

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters as JSON-ready values, this method's included."""
        return {**super().get_params(), "epochs": self.epochs, "train_stages": self.train_stages, "lr": self.lr,
                "head_lr": self.head_lr, "weight_decay": self.weight_decay,
                "validation_fraction": self.validation_fraction, "patience": self.patience,
                "pretrained": self.pretrained}

    # ------------------------------------------------------------------ training
    def _fit_labelled(self, images: Sequence[np.ndarray], labels: list[int], progress: ProgressCallback | None) -> None:
        label_array = np.asarray(labels, np.int64)
        if set(label_array.tolist()) != {0, 1}:
            raise ValueError("the CAM classifier needs labelled good (0) and defective (1) images")
        rng = np.random.default_rng(self.seed)
        train_index, validation_index = stratified_split(label_array, self.validation_fraction, rng)
        network = build_network(self, self.pretrained, seed=self.seed)  # random starting weights follow the seed
        trunk = TrainableTrunk(network, self.layers, self.train_stages)
        trunk.eval()
        inputs = self._frozen_outputs(trunk, images, progress)
        targets = torch.from_numpy(label_array.astype(np.float32))
        n_defective = int(label_array[train_index].sum())
        pos_weight = torch.tensor([(len(train_index) - n_defective) / max(1, n_defective)])

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            head = nn.Linear(self.layer_channels()[0], 1)
            optimizer = trunk_and_head_optimizer(trunk, head, self.lr, self.head_lr, self.weight_decay)

            def logits_of(batch: torch.Tensor) -> torch.Tensor:
                return head(trunk.forward_trained(batch)[0].mean(dim=(2, 3))).squeeze(1)

            def step(positions: np.ndarray) -> float:
                chosen = train_index[positions]
                batch = torch.stack([_random_flip(inputs[i].float(), rng) for i in chosen])
                trunk.train()
                return descend(optimizer, F.binary_cross_entropy_with_logits(logits_of(batch), targets[chosen],
                                                                             pos_weight=pos_weight))

            validation_losses: list[float] = []
            best: dict[str, Any] = {"loss": float("inf"), "epoch": -1, "state": None}

            def end_of_epoch(epoch: int) -> bool:
                if len(validation_index) == 0:
                    return False
                trunk.eval()
                with torch.no_grad():
                    logits = torch.cat([logits_of(inputs[chunk].float())
                                        for chunk in np.array_split(validation_index,
                                                                    max(1, len(validation_index) // 32))])
                loss = float(F.binary_cross_entropy_with_logits(logits, targets[validation_index],
                                                                pos_weight=pos_weight))
                validation_losses.append(loss)
                if loss < best["loss"]:
                    best.update(loss=loss, epoch=epoch, state=(state_copy(trunk.trained), state_copy(head)))
                return epoch - best["epoch"] >= self.patience

            epoch_losses = train_epochs(step, len(train_index), self.batch_size, self.epochs, rng, optimizer,
                                        "training (CAM)", progress, end_of_epoch)
        if best["state"] is not None:  # early stopping: the weights of the best validation epoch
            trunk.trained.load_state_dict(best["state"][0])
            head.load_state_dict(best["state"][1])
        network.eval()
        self.set_backbone_state(state_copy(network))
        self.weight = head.weight.detach()[0].clone()
        self.bias = head.bias.detach().clone()
        self.history = {
            "train_loss": np.array(epoch_losses, np.float64),
            "validation_loss": np.array(validation_losses or [np.nan] * len(epoch_losses), np.float64),
            "best_epoch": np.array([best["epoch"] if best["state"] is not None else len(epoch_losses) - 1]),
        }

    def _frozen_outputs(self, trunk: TrainableTrunk, images: Sequence[np.ndarray],
                        progress: ProgressCallback | None) -> torch.Tensor:
        """The frozen stages' output of every image, stored as float16 to halve the memory."""
        outputs = []
        stage = "feature extraction"
        report(progress, stage, 0, len(images))
        for start, x, _ in self.batches(images):
            outputs.append(trunk.frozen_output(x).half())
            report(progress, stage, min(start + len(x), len(images)), len(images))
        return torch.cat(outputs)

    # ------------------------------------------------------------------ inference
    def _score_batch(self, x: torch.Tensor, geometries: list[Geometry]) -> tuple[np.ndarray, np.ndarray]:
        if self.weight is None or self.bias is None:
            raise RuntimeError("the CAM classifier is not fitted")
        features = self.extractor(x)[0]
        cam = torch.einsum("bchw,c->bhw", features, self.weight) + self.bias
        scores = torch.sigmoid(cam.mean(dim=(1, 2)))
        valid = self.valid_grid(geometries, tuple(cam.shape[1:]))
        return scores.numpy(), fill_padding(cam.numpy(), valid)

    # ------------------------------------------------------------------ persistence
    def _arrays(self) -> dict[str, np.ndarray]:
        if self.weight is None or self.bias is None:
            raise RuntimeError("the CAM classifier is not fitted")
        return {"weight": self.weight.numpy(), "bias": self.bias.numpy(),
                **{f"history_{key}": value for key, value in self.history.items()}}

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.weight = torch.from_numpy(saved_array(arrays, "weight", tuple(self.layer_channels())).astype(np.float32))
        self.bias = torch.from_numpy(saved_array(arrays, "bias", (1,)).astype(np.float32))
        self.history = {key.removeprefix("history_"): value for key, value in arrays.items()
                        if key.startswith("history_")}


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a training and a validation part, the validation part holding ``fraction`` of each class
    (:func:`~vqi_core.samplers.stratified_pick`: a class of two or more images keeps one on each side)."""
    validation = stratified_pick(labels, fraction, rng)
    return np.setdiff1d(np.arange(len(labels)), validation), validation


def _random_flip(feature: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Flip a (C, h, w) feature map horizontally and vertically, each with probability 1/2."""
    dims = [d for d, flip in ((2, rng.random() < 0.5), (1, rng.random() < 0.5)) if flip]
    return torch.flip(feature, dims) if dims else feature
