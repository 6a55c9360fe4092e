"""Figures: each figure function renders a sensible PNG, and the callback, driven by a real
Trainer on a tiny synthetic module and datamodule that follow its contract, writes
figures/*.png and TensorBoard images and histograms."""
import string
from pathlib import Path

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image
from pytorch_lightning.loggers import TensorBoardLogger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ablab.data.preprocess import Preprocess
from ablab.data.ranks import classes_in_turn
from ablab.factors.norm import batch
from ablab.metrics.evaluation import Evaluation
from ablab.models.cnn import CNN
from ablab.models.mlp import MLP
from ablab.viz.callback import Figures
from ablab.viz.charts import confusion_matrix_figure, per_class_accuracy_figure
from ablab.viz.images import image_grid, prediction_grid, sample_grid
from ablab.viz.png import save_png
from ablab.viz.figure_data import first_layer, first_layer_weights
from ablab.viz.weights import first_layer_figure

CONF = Path(__file__).resolve().parents[1] / "conf" / "viz"
EMNIST = list(string.digits + string.ascii_uppercase + "abdefghnqrt")
CIFAR = "airplane automobile bird cat deer dog frog horse ship truck".split()
CLASSES = {10: CIFAR, 47: EMNIST}
FIGURES = {"train_samples", "confusion_matrix", "confusion_matrix_normalized", "per_class_accuracy",
           "test_predictions", "confident_mistakes", "first_layer_weights"}


def check_png(fig, tmp_path, colour: bool | None = None) -> np.ndarray:
    """Render `fig` like the callback does and check the PNG: size, not blank, colour or grey."""
    png = save_png(fig, tmp_path / "fig.png")
    assert png == (tmp_path / "fig.png").read_bytes()  # what TensorBoard gets (add_png) is the file
    img = Image.open(tmp_path / "fig.png")
    assert img.format == "PNG" and 100 <= min(img.size) and max(img.size) <= 3000, img.size
    rgb = np.asarray(img.convert("RGB"))
    assert rgb.std() > 10, "blank image"
    if colour is not None:
        assert ((rgb.max(-1).astype(int) - rgb.min(-1)).max() > 100) == colour
    return rgb


@pytest.mark.parametrize("c,k,dtype", [(1, 47, torch.uint8), (3, 10, torch.float32)])
def test_image_grids(tmp_path, c, k, dtype):
    x = torch.rand(64, c, 28, 28, generator=torch.Generator().manual_seed(0))
    x = (x * 255).to(torch.uint8) if dtype == torch.uint8 else x
    y = torch.arange(64) % k
    pred = torch.where(torch.arange(64) % 3 == 0, (y + 1) % k, y)
    check_png(sample_grid(x, y, CLASSES[k]), tmp_path, colour=c == 3)
    check_png(prediction_grid(x, pred, y, CLASSES[k]), tmp_path, colour=True)  # red titles
    fig = prediction_grid(x[:5], pred[:5], y[:5], CLASSES[k], torch.rand(5), title="mistakes")
    assert fig.get_suptitle() == "mistakes"
    check_png(fig, tmp_path)


@pytest.mark.parametrize("c", [1, 3])
def test_image_grid_keeps_images_upright(tmp_path, c):
    x = torch.zeros(1, c, 20, 20)
    x[:, :, :10] = 1.0  # bright top half
    grey = check_png(image_grid(x), tmp_path, colour=False).mean(-1)
    h = grey.shape[0]
    assert grey[: h // 2].mean() > grey[h // 2 :].mean() + 100


@pytest.mark.parametrize("k", [10, 47])
@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix(tmp_path, k, normalize):
    true = torch.arange(2000) % k
    right = torch.rand(2000, generator=torch.Generator().manual_seed(k)) < 0.8
    pred = torch.where(right, true, (true + 1) % k)
    cm = torch.bincount(true * k + pred, minlength=k * k).view(k, k)
    rgb = check_png(confusion_matrix_figure(cm, CLASSES[k], normalize), tmp_path, colour=True)
    assert min(rgb.shape[:2]) >= (1000 if k == 47 else 400)  # grows with K so labels stay legible


@pytest.mark.parametrize("k", [10, 47])
def test_per_class_accuracy(tmp_path, k):
    acc = torch.linspace(0.2, 1.0, k).tolist()
    rgb = check_png(per_class_accuracy_figure(acc, CLASSES[k]), tmp_path, colour=True)
    assert rgb.shape[1] >= (1000 if k == 47 else 500)


@pytest.mark.parametrize("make,shape,colour", [
    (lambda s: MLP(s, 10, act=nn.ReLU, norm=batch, hidden=(32,)), (1, 28, 28), False),
    (lambda s: CNN(s, 47, act=nn.ReLU, norm=batch), (1, 28, 28), False),
    (lambda s: CNN(s, 10, act=nn.ReLU, norm=batch), (3, 32, 32), True),
    (lambda s: nn.LSTM(s[0] * s[2], 16), (1, 28, 28), True),  # no image shape: weight matrix
])
def test_first_layer_weights(tmp_path, make, shape, colour):
    layer = first_layer(make(shape))
    assert isinstance(layer, (nn.Linear, nn.Conv2d, nn.LSTM))
    check_png(first_layer_figure(*first_layer_weights(layer), shape), tmp_path, colour=colour)


class TinyData(pl.LightningDataModule):
    """Follows the datamodule side of the Figures contract; class = image brightness."""

    def __init__(self, k: int, shape: tuple, n: int = 96):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.train_y, self.test_y = torch.arange(n) % k, torch.randperm(n, generator=g) % k

        def images(y):
            level = (y.float() / k).view(-1, 1, 1, 1) * 200
            return (level + 55 * torch.rand(len(y), *shape, generator=g)).to(torch.uint8)

        self.train_x, self.test_x = images(self.train_y), images(self.test_y)
        self.mean, self.std = 0.5, 0.25

    def train_images(self, indices):
        return self.train_x[indices]

    def _loader(self, x, y):  # batches arrive normalised, as the contract says
        return DataLoader(TensorDataset((x.float() / 255 - self.mean) / self.std, y), batch_size=32)

    def train_dataloader(self):
        return self._loader(self.train_x, self.train_y)

    def test_dataloader(self):
        return self._loader(self.test_x, self.test_y)


class TinyModule(pl.LightningModule):
    """Follows the module side of the contract: `model`, `preprocess.denormalize`, logits from
    test_step, `evaluated`."""

    def __init__(self, model: nn.Module, k: int, shape: tuple):
        super().__init__()
        self.model, self.k = model, k
        self.preprocess = Preprocess(CLASSES[k], tuple(shape), [0.5] * shape[0], [0.25] * shape[0])

    def training_step(self, batch, batch_idx):
        return F.cross_entropy(self.model(batch[0]), batch[1])

    def on_test_epoch_start(self):
        self.cm = torch.zeros(self.k, self.k, dtype=torch.long)

    def test_step(self, batch, batch_idx):
        logits = self.model(batch[0])
        cells = batch[1] * self.k + logits.argmax(1)
        self.cm += torch.bincount(cells, minlength=self.k**2).view(self.k, self.k)
        return logits

    def on_test_epoch_end(self):
        acc = (self.cm.diag() / self.cm.sum(1).clamp_min(1)).tolist()
        self.evaluated = {"test": Evaluation({}, acc, self.cm)}

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def fit_and_test(tmp_path, model, k, shape, logger, figures):
    pl.seed_everything(0)
    trainer = pl.Trainer(max_epochs=2, default_root_dir=tmp_path, logger=logger,
                         callbacks=[figures], accelerator="cpu", enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    module, data = TinyModule(model, k, shape), TinyData(k, shape)
    trainer.fit(module, datamodule=data)
    trainer.test(module, datamodule=data, verbose=False)
    return tmp_path / "figures"


def test_callback_writes_pngs_and_tensorboard(tmp_path):
    shape = (3, 16, 16)
    blocks = [{"channels": 8, "pool": "max"}]
    model = CNN(shape, 10, act=nn.ReLU, norm=batch, blocks=blocks, head=(16,))
    figures = Figures(n_samples=16, n_mistakes=8, every_n_epochs_histograms=1)  # histograms are opt-in
    logger = TensorBoardLogger(tmp_path, name="tb", version="")
    out = fit_and_test(tmp_path, model, 10, shape, logger, figures)
    assert {p.stem for p in out.glob("*.png") if min(Image.open(p).size) >= 100} == FIGURES
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0, "histograms": 0})
    tags = events.Reload().Tags()
    assert {f"figures/{name}" for name in FIGURES} <= set(tags["images"])
    for name in FIGURES:  # TensorBoard shows the PNG file itself, its size read from the file
        image = events.Images(f"figures/{name}")[-1]
        png = (out / f"{name}.png").read_bytes()
        assert image.encoded_image_string == png and (image.width, image.height) == Image.open(out / f"{name}.png").size
    assert {"weights/features.0.0.weight", "weights/features.0.0.bias"} <= set(tags["histograms"])
    for name, _ in model.named_parameters():
        assert len(events.Histograms(f"weights/{name}")) == 2  # one per epoch
    # The running top-k holds exactly the most confident of all wrong predictions.
    pred, true, conf = (torch.cat(t) for t in (figures._pred, figures._true, figures._conf))
    expected = conf[pred != true].topk(min(8, int((pred != true).sum()))).values
    assert torch.equal(figures._mistakes[1], expected)
    assert len(figures._mistakes[0]) == len(expected) and len(torch.cat(figures._samples)) == 16


def test_callback_without_tensorboard_still_writes_pngs(tmp_path):
    shape = (1, 12, 12)
    model = MLP(shape, 47, act=nn.ReLU, norm=batch, hidden=(16,))
    out = fit_and_test(tmp_path, model, 47, shape, False, Figures(n_samples=8, n_mistakes=4))
    assert {p.stem for p in out.glob("*.png")} == FIGURES


def test_sample_grids_show_every_class_of_a_class_ordered_set():
    # Image folders list their files class by class; the first 16 images would all be class 0.
    labels = torch.arange(10).repeat_interleave(50)
    assert labels[classes_in_turn(labels, 16, 10)].tolist() == [*range(10), *range(6)]
    figures = Figures(n_samples=16)  # test batches arrive in order: keep ceil(16 / 10) per class
    picked = [batch[figures._sample_picks(batch, 10)] for batch in labels.split(64)]
    assert torch.bincount(torch.cat(picked), minlength=10).tolist() == [2] * 10


def test_viz_configs():
    assert isinstance(instantiate(OmegaConf.load(CONF / "default.yaml")), Figures)
    assert "_target_" not in OmegaConf.load(CONF / "none.yaml")  # viz=none: no callback built
