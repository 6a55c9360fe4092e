"""The plain CUDA-availability check while a run trains on the CPU.

Lightning sets PYTORCH_NVML_BASED_CUDA_CHECK=1 when imported, so that asking whether
there is a GPU never initialises CUDA in a process that may fork later. Until CUDA is
initialised, torch then answers every `torch.cuda.is_available()` by loading NVML
again, and Adam and AdamW ask at every step (torch.optim's graph-capture check). With a
CUDA build of torch on a machine that trains on its CPU (the default pip wheel on
Linux) that is ~0.1 ms a step: 2% of an MLP step on 2 cores. A CPU run has no CUDA
state to protect, so while it trains the plain check (cached by torch) is used.
"""
import os
from contextlib import contextmanager

from pytorch_lightning.accelerators import CPUAccelerator

NVML_CHECK = "PYTORCH_NVML_BASED_CUDA_CHECK"


@contextmanager
def plain_cuda_check_on_cpu(trainer):
    if not isinstance(trainer.accelerator, CPUAccelerator) or NVML_CHECK not in os.environ:
        yield
        return
    saved = os.environ.pop(NVML_CHECK)
    try:
        yield
    finally:
        os.environ[NVML_CHECK] = saved  # later jobs of a sweep may train on a GPU
