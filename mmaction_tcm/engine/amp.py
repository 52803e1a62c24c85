"""Mixed-precision training on any device: fp16 + loss scaling on CUDA, bf16 on CPU.

mmengine's ``AmpOptimWrapper`` asserts a GPU-like device, so ``--amp`` fails on a CPU-only
machine. :class:`CPUAutocastOptimWrapper` runs the forward pass under
``torch.autocast('cpu', dtype=torch.bfloat16)``; bf16 has the exponent range of fp32, so no
loss scaling is needed. :func:`amp_optim_wrapper` turns an fp32 ``optim_wrapper`` config into
the right mixed-precision one for the device; ``tools/train.py --amp`` uses it.
"""
import copy
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper

from mmaction.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` enables CPU autocast.

    Args:
        dtype: autocast dtype, ``'bfloat16'`` (default) or ``'float16'``.
        **kwargs: forwarded to ``OptimWrapper`` (``optimizer``, ``clip_grad``, ...).
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f"dtype must be 'bfloat16' or 'float16', got {dtype!r}")
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        # MMAction2 heads turn the class scores into numpy arrays for the accuracy they
        # log, and numpy has no bfloat16: the head's outputs are cast back to fp32 (losses
        # in fp32, as CUDA autocast does for its loss functions).
        head = getattr(getattr(model, 'module', model), 'cls_head', None)
        handle = head.register_forward_hook(_outputs_to_float32) if head is not None else None
        try:
            with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
                yield
        finally:
            if handle is not None:
                handle.remove()


def _outputs_to_float32(module, inputs, output):
    """Forward hook: low-precision floating tensors in ``output`` become fp32."""
    def cast(x):
        if isinstance(x, torch.Tensor) and x.is_floating_point() and x.dtype != torch.float32:
            return x.float()
        if isinstance(x, (tuple, list)):
            return type(x)(cast(v) for v in x)
        return x
    return cast(output)


def amp_optim_wrapper(optim_wrapper: dict, device: Optional[str] = None) -> dict:
    """Mixed-precision version of an ``optim_wrapper`` config dict.

    Args:
        optim_wrapper: the config's ``optim_wrapper`` (type ``OptimWrapper`` or unset).
        device: ``'cuda'`` or ``'cpu'``; default: ``'cuda'`` when CUDA is available.
    Returns:
        a new dict: ``AmpOptimWrapper`` with ``dtype='float16'`` and dynamic loss scaling on
        CUDA, :class:`CPUAutocastOptimWrapper` with ``dtype='bfloat16'`` on CPU. A config that
        already asks for ``AmpOptimWrapper`` / ``CPUAutocastOptimWrapper`` is returned as is.
    """
    cfg = copy.deepcopy(dict(optim_wrapper))
    kind = cfg.get('type', 'OptimWrapper')
    if kind in ('AmpOptimWrapper', 'CPUAutocastOptimWrapper'):
        return cfg
    if kind != 'OptimWrapper':
        raise ValueError(f'--amp needs optim_wrapper.type == "OptimWrapper", got {kind!r}')
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if device == 'cuda':
        cfg.update(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
    elif device == 'cpu':
        cfg.update(type='CPUAutocastOptimWrapper', dtype='bfloat16')
    else:
        raise ValueError(f"device must be 'cuda' or 'cpu', got {device!r}")
    return cfg
