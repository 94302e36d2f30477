"""Test-session set-up: modules that are not test modules, and torchvision beside PyTorch's CPU wheel."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

# Text output wraps to COLUMNS where it is set, and pytest-xdist's workers get COLUMNS=80: every test, and every
# command a test runs, sees no COLUMNS unless it sets one itself (tests/test_cli_output.py tests the wrapping).
os.environ.pop("COLUMNS", None)
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Workers share the cores: each runs PyTorch's (and numba's) kernels on one thread, rather than each on all.
    for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_threads, "1")

# Model zoos imported by the torch tests; --doctest-modules would import them at collection, and they import torch,
# which the README's test command does not install.
collect_ignore = ["torch_zoo.py", "zoo_thirdparty.py"]


def _define_torchvision_ops() -> None:
    """Let torchvision import beside a CPU build of torch that its compiled ops were not built for.

    PyPI's torchvision wheel links its C++ ops (nms, roi_align, ...) against the CUDA build of torch; beside the CPU
    build (the one CI installs) the library does not load, and `import torchvision` then fails while registering
    meta kernels for operators that do not exist. The models the tests trace never call those operators, so their
    schemas (as torchvision's own C++ declares them) are defined here, without kernels: a call to one would fail.
    """
    torchvision = importlib.util.find_spec("torchvision")
    if importlib.util.find_spec("torch") is None or torchvision is None or not torchvision.origin:
        return
    import torch

    try:
        torch.ops.load_library(str(Path(torchvision.origin).parent / "_C.so"))
        return  # its ops are there after all
    except (ImportError, OSError):
        pass
    schemas = [
        "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
        "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
        "roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
        "int sampling_ratio, bool aligned) -> Tensor",
        "_roi_align_backward(Tensor grad, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width, int sampling_ratio, "
        "bool aligned) -> Tensor",
        "ps_roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width, "
        "int sampling_ratio) -> (Tensor, Tensor)",
        "_ps_roi_align_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, int sampling_ratio, SymInt batch_size, SymInt channels, "
        "SymInt height, SymInt width) -> Tensor",
        "roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) "
        "-> (Tensor, Tensor)",
        "_roi_pool_backward(Tensor grad, Tensor rois, Tensor argmax, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, SymInt width) -> Tensor",
        "ps_roi_pool(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, SymInt pooled_width) "
        "-> (Tensor, Tensor)",
        "_ps_roi_pool_backward(Tensor grad, Tensor rois, Tensor channel_mapping, float spatial_scale, "
        "SymInt pooled_height, SymInt pooled_width, SymInt batch_size, SymInt channels, SymInt height, "
        "SymInt width) -> Tensor",
        "qroi_align(Tensor input, Tensor rois, float input_scale, int input_zero_point, float rois_scale, "
        "int rois_zero_point, float spatial_scale, SymInt pooled_height, SymInt pooled_width, int sampling_ratio, "
        "bool aligned) -> Tensor",
        "deform_conv2d(Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, SymInt stride_h, "
        "SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, SymInt dilation_w, SymInt groups, "
        "SymInt offset_groups, bool use_mask) -> Tensor",
        "_deform_conv2d_backward(Tensor grad, Tensor input, Tensor weight, Tensor offset, Tensor mask, Tensor bias, "
        "SymInt stride_h, SymInt stride_w, SymInt pad_h, SymInt pad_w, SymInt dilation_h, SymInt dilation_w, "
        "SymInt groups, SymInt offset_groups, bool use_mask) -> (Tensor, Tensor, Tensor, Tensor, Tensor)",
    ]
    global _torchvision_library  # kept alive: a Library object's definitions go when it is collected
    _torchvision_library = torch.library.Library("torchvision", "DEF")
    for schema in schemas:
        _torchvision_library.define(schema)


_torchvision_library = None
_define_torchvision_ops()
