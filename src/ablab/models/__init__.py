"""Architectures: plain nn.Modules built from (input_shape, num_classes) and factor factories.

Every model has the signature
    Model(input_shape=(C, H, W), num_classes=K, *, act, norm, dropout, **its_own_options)
where `act()` returns a fresh activation module, `norm(channels, spatial)` returns a
normalisation layer (see ablab.factors.norm) and `dropout` is a rate in [0, 1).
"""
from ablab._lazy import exports

__all__ = ["MLP", "CNN", "LeNet5", "AlexNet", "VGG", "ResNet", "RNN"]
__getattr__ = exports(__name__, {"MLP": ".mlp", "CNN": ".cnn", "LeNet5": ".lenet", "AlexNet": ".alexnet", "VGG": ".vgg",
                                 "ResNet": ".resnet", "RNN": ".rnn"})
