"""Every architecture builds from its YAML the way a run builds it, on grey 28 px and colour 32 px
images, trains a step, and takes every activation, norm, init and dropout the conf folders offer."""
from pathlib import Path

import pytest
import torch
from hydra.utils import get_class
from omegaconf import OmegaConf
from torch import nn

from ablab.errors import UserError
from ablab.factors import build
from ablab.factors.norm import none as norm_none
from ablab.models.cnn import conv_block
from ablab.models.head import dense_head
from tests.configs import option
from tests.conftest import read_results, run_cli

CONF = Path(__file__).resolve().parents[1] / "conf"

# Test id -> (conf/model file, overrides), as a user would type model=<file> model.<key>=<value>.
CASES = {
    "mlp": ("mlp", []),
    "cnn": ("cnn", []),
    "cnn_emnist": ("cnn_emnist", []),
    "cnn_digits": ("cnn_digits", []),
    "cnn_cifar": ("cnn_cifar", []),
    "cnn_mnist": ("cnn_mnist", []),
    "rnn-rnn": ("rnn", ["cell=rnn"]),
    "rnn-lstm": ("rnn", ["cell=lstm"]),
    "rnn-gru": ("rnn", ["cell=gru"]),
    "rnn-lstm-bi-2layer": ("rnn", ["cell=lstm", "bidirectional=true", "layers=2", "hidden=32"]),
    "rnn_rows": ("rnn_rows", ["hidden=32"]),  # the CIFAR study's 2-layer LSTM, narrower here
    "lenet5": ("lenet5", []),
    "alexnet": ("alexnet", []),
    "vgg11": ("vgg", ["depth=11"]),
    "vgg16": ("vgg", ["depth=16"]),
    "resnet18": ("resnet", ["depth=18"]),
    "resnet34": ("resnet", ["depth=34"]),
    "resnet50": ("resnet", ["depth=50"]),
    "resnet18-imagenet_stem": ("resnet", ["stem=imagenet"]),
    "resnet50-imagenet_stem": ("resnet", ["depth=50", "stem=imagenet"]),
}
# Input shape -> class count; several counts so no model can hard-code 10. 3x20x20 is an image
# folder at its own size (the fake folder dataset's), which no model may assume away.
SHAPES = {"1x28x28": ((1, 28, 28), 47), "3x32x32": ((3, 32, 32), 10), "3x20x20": ((3, 20, 20), 3)}
# The factor tests run on the smaller input only and skip the slow cases whose layers another
# case already has (vgg16's are vgg11's, resnet34's resnet18's, a stem is one conv).
FACTOR_CASES = [c for c in CASES if c not in ("vgg16", "resnet34", "resnet18-imagenet_stem", "resnet50-imagenet_stem")]
NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Batches of two gain little from a second thread, and when other processes share the two
    # cores OpenMP's spin-waiting makes two threads several times slower than one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def group(name: str) -> list[str]:
    return sorted(p.stem for p in (CONF / name).glob("*.yaml"))


def make(case: str | tuple, shape=(1, 28, 28), classes=47, *, activation="relu", norm="batch",
         init="default", dropout=0.1) -> nn.Module:
    """Build through ablab.factors.build.model, the run's own path, from the real YAML files.
    `case` is a CASES id or a (file, overrides) pair."""
    file, overrides = CASES[case] if isinstance(case, str) else case
    cfg = OmegaConf.create({
        "model": OmegaConf.merge(OmegaConf.load(CONF / "model" / f"{file}.yaml"), OmegaConf.from_dotlist(overrides)),
        "activation": option("activation", activation),  # swish.yaml is a defaults list: compose it
        "norm": OmegaConf.load(CONF / "norm" / f"{norm}.yaml"),
        "init": OmegaConf.load(CONF / "init" / f"{init}.yaml"),
        "dropout": dropout,
    })
    return build.model(cfg, shape, classes)


def step(model: nn.Module, shape, classes: int) -> torch.Tensor:
    logits = model(torch.randn(2, *shape))
    assert logits.shape == (2, classes)
    assert torch.isfinite(logits).all()
    nn.functional.cross_entropy(logits, torch.tensor([0, classes - 1])).backward()
    return logits


def test_every_model_yaml_has_a_case():
    assert set(group("model")) <= {file for file, _ in CASES.values()}


@pytest.mark.parametrize("shape_id", SHAPES)
@pytest.mark.parametrize("case", CASES)
def test_builds_and_backpropagates(case, shape_id):
    shape, classes = SHAPES[shape_id]
    torch.manual_seed(0)
    model = make(case, shape, classes)
    step(model, shape, classes)
    # Every model registers its first layer first (the RNN's input weights, a CNN's first conv).
    first = next(model.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters()), "a parameter is not on the loss's path"


@pytest.mark.parametrize("activation", group("activation"))
@pytest.mark.parametrize("case", FACTOR_CASES)
def test_activation_is_used_everywhere(case, activation):
    model = make(case, activation=activation)
    kind = get_class(option("activation", activation)._target_)
    assert any(type(m) is kind for m in model.modules())
    if kind is not nn.ReLU:  # a ReLU left behind would be a hard-coded activation
        assert not any(isinstance(m, nn.ReLU) for m in model.modules())
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(2, 1, 28, 28))).all()


@pytest.mark.parametrize("norm", group("norm"))
@pytest.mark.parametrize("case", FACTOR_CASES)
def test_norm_is_what_was_asked(case, norm):
    model = make(case, norm=norm)
    kinds = {type(m) for m in model.modules() if isinstance(m, NORM_TYPES)}
    expected = {
        "none": set(),
        "batch": {nn.BatchNorm1d, nn.BatchNorm2d},
        "layer": {nn.LayerNorm, nn.GroupNorm},  # GroupNorm(1, C) is layer norm for feature maps
        "group": {nn.GroupNorm},
    }[norm]
    assert kinds <= expected and (kinds or norm == "none")
    if norm == "layer":
        assert all(m.num_groups == 1 for m in model.modules() if isinstance(m, nn.GroupNorm))
    step(model, (1, 28, 28), 47)


@pytest.mark.parametrize("init", [i for i in group("init") if i != "default"])
@pytest.mark.parametrize("case", FACTOR_CASES)
def test_init_reaches_every_weight_matrix(case, init):
    torch.manual_seed(0)
    before = make(case).state_dict()  # init=default: PyTorch's own
    torch.manual_seed(0)
    model = make(case, init=init)  # the same draws, then the init option (before the weights' layout is set)
    for name, value in model.state_dict().items():
        if value.dim() >= 2:  # conv, linear and recurrent weights; norm scales stay 1
            assert not torch.equal(value, before[name]), f"{name} kept PyTorch's default init"
    with torch.no_grad():
        assert torch.isfinite(model(torch.randn(2, 1, 28, 28))).all()


@pytest.mark.parametrize("case", FACTOR_CASES)
def test_dropout_rate_reaches_the_model(case):
    model = make(case, dropout=0.3)
    rates = {m.p for m in model.modules() if isinstance(m, nn.Dropout)}
    assert 0.3 in rates
    model.eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))  # eval turns every dropout off


@pytest.mark.parametrize("shape_id", SHAPES)
def test_rnn_reads_one_row_per_step(shape_id):
    (c, h, w), classes = SHAPES[shape_id]
    model = make("rnn-lstm-bi-2layer", (c, h, w), classes)
    assert model.rnn.input_size == c * w and model.rnn.num_layers == 2
    assert model.classifier[1].in_features == 2 * 32  # both directions' last states
    # The last row changes the prediction: the head sees the state after the final step.
    model.eval()
    x = torch.randn(1, c, h, w)
    y = x.clone()
    y[:, :, -1] += 1
    with torch.no_grad():
        assert not torch.allclose(model(x), model(y))


def test_lenet5_pads_28px_to_the_32px_layout():
    widths = {make("lenet5", shape, 10).classifier[1].in_features for shape in [(1, 28, 28), (3, 32, 32)]}
    assert widths == {16 * 5 * 5}


# swish is an alias option (defaults: [silu]): a name resolves as Hydra composes it.
@pytest.mark.parametrize("names", [["tanh", "sigmoid", "gelu"], ["leaky_relu", "relu", "elu"], ["swish", "relu", "silu"]],
                         ids=str)
def test_mlp_takes_one_activation_per_hidden_layer(names):
    model = make(("mlp", ["hidden=[16,8,4]", f"activations=[{','.join(names)}]"]), activation="selu")
    kinds = [get_class(option("activation", name)._target_) for name in names]
    acts = [m for m in model.features if not isinstance(m, (nn.Flatten, nn.Linear, nn.Dropout, *NORM_TYPES))]
    assert [type(m) for m in acts] == kinds  # in order, and the activation factor (selu) nowhere
    step(model, (1, 28, 28), 47)


@pytest.mark.parametrize("overrides, message", [
    (["hidden=[16,8]", "activations=[relu]"],
     "model.activations=['relu'] is not allowed: must name one activation per hidden layer, 2 for model.hidden=[16, 8]"),
    (["hidden=[16,8]", "activations=[relu,tanh,tanh]"], "model.activations=['relu', 'tanh', 'tanh'] is not allowed"),
    (["hidden=[16,8]", "activations=[relu,tanhh]"],
     "model.activations=['relu', 'tanhh'] is not allowed: 'tanhh' is not an activation; choose from elu, gelu,"),
    (["hidden=[16]", "activations=relu"], "model.activations='relu' is not allowed: must be a list of activation names"),
], ids=["too-few", "too-many", "unknown", "not-a-list"])
def test_bad_per_layer_activations_are_a_one_line_user_error(overrides, message):
    with pytest.raises(UserError) as error:
        make(("mlp", overrides))
    text = str(error.value)
    assert text.startswith(message) and "\n" not in text
    assert ", ".join(group("activation")) in text  # the allowed options, all of them


def test_bad_per_layer_activation_exits_2_with_one_line(tmp_path):
    proc = run_cli("model=mlp", "model.hidden=[16,8]", "model.activations=[relu,tanhh]", f"hydra.run.dir={tmp_path}/run")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        "ablab: error: model.activations=['relu', 'tanhh'] is not allowed: 'tanhh' is not an activation; "
        f"choose from {', '.join(group('activation'))}"]
    assert not (tmp_path / "run").exists()  # refused before Hydra made the run directory


@pytest.mark.parametrize("order, layout", [
    ("before", [nn.Dropout, nn.Linear, nn.Identity, nn.Tanh, nn.Dropout, nn.Linear]),
    ("before_hidden", [nn.Dropout, nn.Linear, nn.Identity, nn.Tanh, nn.Linear]),
    ("after", [nn.Linear, nn.Identity, nn.Tanh, nn.Dropout, nn.Linear]),
])
def test_dense_head_puts_dropout_where_its_order_says(order, layout):
    assert [type(m) for m in dense_head(12, [8], 3, act=nn.Tanh, norm=norm_none, dropout=0.5, order=order)] == layout
    with pytest.raises(ValueError, match="2 activations for 1 hidden layers"):
        dense_head(12, [8], 3, act=[nn.Tanh, nn.ReLU], norm=norm_none, dropout=0.5, order=order)


@pytest.mark.parametrize("padding, size", [(None, 28), (0, 24), (1, 26)])
def test_conv_block_padding_defaults_to_same_and_0_is_valid(padding, size):
    block = conv_block(1, 30, act=nn.ReLU, norm=norm_none, kernel=5, padding=padding)
    assert block(torch.zeros(1, 1, 28, 28)).shape == (1, 30, size, size)
    pooled = conv_block(1, 30, act=nn.ReLU, norm=norm_none, kernel=5, padding=padding, pool="max")
    assert pooled(torch.zeros(1, 1, 28, 28)).shape == (1, 30, size // 2, size // 2)


def test_cnn_mnist_is_one_valid_5x5_conv_a_pool_and_100_dense():
    model = make("cnn_mnist", (1, 28, 28), 10, norm="none")
    assert model.features(torch.zeros(2, 1, 28, 28)).shape == (2, 30, 12, 12)  # 28 -> 24 -> pool 12
    conv, dense, classes = 30 * 5 * 5 + 30, (30 * 12 * 12) * 100 + 100, 100 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == conv + dense + classes
    assert [type(m) for m in model.features[0]] == [nn.Conv2d, nn.Identity, nn.ReLU, nn.MaxPool2d]


def test_blocks_that_do_not_fit_the_images_are_a_one_line_user_error():
    # The blocks' values are checked with the config (tests/test_schema.py); their fit needs the image size.
    with pytest.raises(UserError) as error:
        make(("cnn", ["blocks=[{channels: 8, kernel: 5, padding: 0}, {channels: 8, kernel: 30, padding: 0}]"]))
    assert str(error.value).startswith("model.blocks do not fit 1x28x28 images: ") and "\n" not in str(error.value)


def test_resnet_norm_none_gives_convs_their_bias():
    def biased(model):
        return {m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d)}

    assert biased(make("resnet18", norm="none")) == {True}
    assert biased(make("resnet18", norm="batch")) == {False}


@pytest.mark.parametrize("case", ["cnn", "lenet5"])
def test_channels_last_sets_the_conv_weights_layout_and_not_the_result(case):
    def layouts(model):
        convs = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.shape[1] > 1]
        return {(w.is_contiguous(memory_format=torch.channels_last), w.is_contiguous()) for w in convs}

    file, _ = CASES[case]
    torch.manual_seed(0)
    nhwc = make((file, ["channels_last=true"]), dropout=0.0).eval()
    torch.manual_seed(0)
    nchw = make((file, ["channels_last=false"]), dropout=0.0).eval()
    assert layouts(nhwc) == {(True, False)} and layouts(nchw) == {(False, True)}
    x = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(nhwc(x), nchw(x))  # the same weights: only float rounding may differ


def test_every_conv_model_file_states_its_layout_and_no_other_does():
    # The layout is measured per architecture (bench/layout.py: NHWC wins for every conv net here
    # but LeNet-5), so each conv net's file says which it takes; a net without convs has none to set.
    for name in group("model"):
        has_conv = any(isinstance(m, nn.Conv2d) for m in make((name, []), (3, 32, 32), 10).modules())
        stated = OmegaConf.load(CONF / "model" / f"{name}.yaml").get("channels_last")
        assert (stated is not None) == has_conv, name


@pytest.mark.slow
@pytest.mark.parametrize("data", ["mnist", "cifar10"], ids=["1x28x28", "3x32x32"])
def test_every_model_trains_one_batch_through_train_py(data, mnist_dir, cifar_dir, tmp_path):
    # One -m sweep per input shape: the first job pays the imports, the others start in ~0.2 s.
    root = {"mnist": mnist_dir, "cifar10": cifar_dir}[data]
    models = group("model")
    proc = run_cli("-m", f"model={','.join(models)}", f"data={data}", f"data.root={root}",
                   "data.batch_size=8", "data.eval_batch_size=8", "trainer.max_epochs=1",
                   "trainer.limit_train_batches=1", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1",
                   "viz=none", f"hydra.sweep.dir={tmp_path}", timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trained = {}
    for job in tmp_path.glob("[0-9]*"):
        results = read_results(job)
        model = next(o.split("=")[1] for o in results["overrides"] if o.startswith("model="))
        last = torch.load(job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True, mmap=True)
        trained[model] = (results["status"], last["global_step"], results["params"] > 0)
    assert trained == {m: ("completed", 1, True) for m in models}
