"""Models: registry, preprocessing spec, output layout, forward shapes, ONNX parity, transfer modes."""

from importlib import resources

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from f2p_engine.face.align import crop_box, region_boxes  # noqa: E402
from f2p_engine.headmodel import schema  # noqa: E402
from f2p_engine.nets.backbones import MOBILENETV2_WEIGHTS, MobileNetV2  # noqa: E402
from f2p_engine.nets.registry import create_net, list_nets  # noqa: E402
from f2p_engine.nets.spec import FACE, IMAGENET_MEAN, IMAGENET_STD, Preprocessing, output_layout, preprocess  # noqa: E402
from f2p_engine.train.export import export_onnx  # noqa: E402

CROPS_TESTED = (FACE, "eyes", "nose")


@pytest.mark.parametrize("name", list_nets())
@pytest.mark.parametrize("crop", CROPS_TESTED)
def test_forward_shapes_follow_the_schema(name, crop):
    net = create_net(name, crop=crop, input_size=32).eval()
    spec = net.preprocessing
    with torch.no_grad():
        outputs = net(torch.randn(3, 3, spec.height, spec.width))
    layout = output_layout(crop)
    assert [tuple(o.shape) for o in outputs] == [(3, len(layout.params))] + [(3, k) for _, k in layout.groups]
    assert float(outputs[0].min()) >= 0.0
    assert float(outputs[0].max()) <= 1.0


@pytest.mark.parametrize("name", list_nets())
def test_onnx_matches_torch_on_new_inputs(name, tmp_path):
    import onnxruntime

    net = create_net(name, crop="mouth", input_size=32).eval()
    spec = net.preprocessing
    # Non-trivial BatchNorm statistics, so the parity check sees more than near-constant outputs.
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "net.onnx"
    export_onnx(net, path, torch.randn(2, 3, spec.height, spec.width))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    fresh = torch.randn(5, 3, spec.height, spec.width)  # another batch size than the export example
    got = session.run(None, {"image": fresh.numpy()})
    with torch.no_grad():
        expected = net(fresh)
    assert [o.name for o in session.get_outputs()] == list(net.layout.output_names)
    for e, g in zip(expected, got, strict=True):
        np.testing.assert_allclose(g, e.numpy(), atol=1e-4)


def test_output_layouts_partition_the_schema():
    aggregate = output_layout(FACE)
    assert aggregate.params == tuple(p.name for p in schema.CONTINUOUS)
    assert [g for g, _ in aggregate.groups] == [g.name for g in schema.DISCRETE_GROUPS if g.predicted]
    local_params = [p for region in schema.LOCAL_REGIONS for p in output_layout(region).params]
    expected = [p.name for p in schema.CONTINUOUS if p.region in schema.LOCAL_REGIONS]
    assert sorted(local_params) == sorted(expected)
    assert output_layout("eyes").groups == (("eye_colour", 6),)
    assert output_layout("nose").groups == ()
    np.testing.assert_array_equal(output_layout("chin").param_indices,
                                  [i for i, p in enumerate(schema.CONTINUOUS) if p.region == "chin"])


def test_local_inputs_keep_the_region_aspect():
    net = create_net("smallcnn", crop="eyes", input_size=32)
    box = region_boxes(np.zeros((68, 2)), 256)["eyes"]
    assert net.preprocessing.height == 32
    assert net.preprocessing.width / net.preprocessing.height == pytest.approx(box.width / box.height, rel=0.15)


def test_preprocess_crops_resizes_and_normalises():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    landmarks = rng.uniform(30, 100, (68, 2))
    box = region_boxes(landmarks, 128)["nose"]
    spec = Preprocessing(crop="nose", height=box.height, width=box.width, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    out = preprocess(image, landmarks, spec)
    assert out.dtype == np.float32
    assert out.shape == (3, box.height, box.width)
    crop = crop_box(image, box)
    expected = (crop[..., 1] / 255.0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1]
    np.testing.assert_allclose(out[1], expected, atol=1e-5)
    small = Preprocessing(crop=FACE, height=16, width=24, mean=(0, 0, 0), std=(1, 1, 1))
    resized = preprocess(image, landmarks, small)
    assert resized.shape == (3, 16, 24)
    np.testing.assert_allclose(resized.mean(), image.mean() / 255.0, atol=0.01)


def test_spec_round_trips_and_rejects_unknown_crops():
    spec = create_net("smallcnn", crop="chin", input_size=24).preprocessing
    assert Preprocessing.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unknown crop"):
        Preprocessing(crop="ears", height=32, width=32, mean=(0, 0, 0), std=(1, 1, 1))


def test_create_net_rejects_unknown_names_and_impossible_pooling():
    with pytest.raises(ValueError, match="unknown net"):
        create_net("resnet9000")
    with pytest.raises(ValueError, match="pool grid 3"):
        create_net("smallcnn", input_size=32, pool=3)  # 2x2 feature map
    assert create_net("smallcnn", input_size=64, pool=2).embed(torch.zeros(1, 3, 64, 64)).shape == (1, 256 * 4)


def test_rebuilds_from_config():
    net = create_net("mobilenetv2_s16", crop="cheeks", input_size=32, pool=1, hidden=64)
    twin = create_net(**net.config)
    twin.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, net.preprocessing.height, net.preprocessing.width)
    with torch.no_grad():
        np.testing.assert_allclose(twin.eval()(x)[0].numpy(), net.eval()(x)[0].numpy())


def test_feature_extraction_freezes_the_backbone_and_its_statistics():
    net = create_net("smallcnn", input_size=32)
    net.set_transfer_mode("feature_extraction")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.train()
    optimiser = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    net(torch.randn(4, 3, 32, 32))[0].sum().backward()
    optimiser.step()
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("backbone."))
    assert not torch.equal(before["head.out.weight"], after["head.out.weight"])
    net.set_transfer_mode("fine_tuning")
    assert all(p.requires_grad for p in net.backbone.parameters())


def test_discrete_groups_have_their_own_branch():
    """Cross-entropy gradients reach the classifier branch only, never the slider backbone or head."""
    net = create_net("smallcnn", crop="eyes", input_size=32)
    x = torch.randn(4, 3, net.preprocessing.height, net.preprocessing.width)
    sliders, eye_colour = net.train()(x)
    assert sliders.shape == (4, len(net.layout.params))
    assert eye_colour.shape == (4, 6)
    torch.nn.functional.cross_entropy(eye_colour, torch.tensor([0, 1, 2, 3])).backward()
    assert all(p.grad is None for p in [*net.backbone.parameters(), *net.head.parameters()])
    assert all(p.grad is not None for p in net.classifier.parameters())
    assert create_net("smallcnn", crop="nose", input_size=32).classifier is None  # no group of its own


def test_mobilenetv2_imagenet_weights_recognise_a_cat():
    """Our MobileNetV2 with the offline ImageNet weights classifies skimage's cat as a cat."""
    import cv2
    from skimage.data import chelsea

    net = MobileNetV2()
    net.load_imagenet()
    package, name = MOBILENETV2_WEIGHTS
    state = torch.load(resources.files(package) / name, map_location="cpu", weights_only=True)
    pixels = cv2.resize(chelsea(), (224, 224), interpolation=cv2.INTER_AREA)
    spec = Preprocessing(crop=FACE, height=224, width=224, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    x = torch.from_numpy(preprocess(pixels, np.zeros((68, 2)), spec))[None]
    with torch.no_grad():
        logits = net.eval()(x).mean(dim=(2, 3)) @ state["classifier.1.weight"].T + state["classifier.1.bias"]
    assert int(logits.argmax()) in range(281, 286)  # ImageNet's five domestic cat classes
