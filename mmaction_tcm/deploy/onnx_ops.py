"""ONNX translations of ``mmaction_tcm::correlation`` and ``mmaction_tcm::tempo_match``.

Standard ONNX operators only (opset 18), written with onnxscript and handed to the dynamo
exporter through ``custom_translation_table``, so stock onnxruntime runs the result with no
custom-op library. The graph follows the PyTorch path of :mod:`mmaction_tcm.ops`: the
correlation gathers the ``P`` candidate rows of the padded second map (one ``Gather``),
multiplies them with the first map in one batched ``MatMul`` and reads the band of ``P``
columns by a pad-and-reshape walk, then ReLU, confidence (max), the Gaussian
around the first hard argmax, the kernel-softmax and the soft-argmax scaled by ``1/r``.

The batch dimension stays symbolic (reshapes copy it with ``0``); channels, height and
width are read from the traced shapes, which are static in an exported model.
"""
from typing import Dict, Tuple

import numpy as np
import torch
from onnxscript import opset18 as op

OPSET = 18


def _const_ints(values) -> 'op.Constant':
    return op.Constant(value_ints=[int(v) for v in values])


def _static_dims(value, name: str) -> Tuple[int, int, int]:
    """``(C, H, W)`` of a ``(B, C, H, W)`` value; they must be concrete at export."""
    dims = list(value.shape)
    if len(dims) != 4 or not all(isinstance(d, int) for d in dims[1:]):
        raise ValueError(f'{name}: the ONNX translation needs static (C, H, W) feature '
                         f'sizes, got shape {value.shape}')
    return dims[1], dims[2], dims[3]


def correlation_onnx(f1, f2, patch_size: int, dilation_patch: int = 1):
    """``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)``, zero where ``f2`` is out of bounds."""
    C, H, W = _static_dims(f1, 'correlation f1')
    P, d = int(patch_size), int(dilation_patch)
    pad = (P - 1) // 2 * d
    span = (P - 1) * d + 1
    Wp = W + 2 * pad
    f2p = op.Pad(f2, _const_ints([0, 0, pad, pad, 0, 0, pad, pad]))   # (B, C, H+2pad, Wp)
    # rows h + i*d of the padded map for every output row h and offset i: one Gather
    index = (np.arange(H)[:, None] + np.arange(P)[None, :] * d).reshape(-1)
    rows = op.Gather(f2p, op.Constant(value=_int_tensor(index)), axis=2)  # (B, C, H*P, Wp)
    rows = op.Reshape(rows, _const_ints([0, C, H, P, Wp]))            # (B, C, H, P, Wp)
    rows = op.Reshape(op.Transpose(rows, perm=[0, 2, 1, 3, 4]),
                      _const_ints([0, H, C, P * Wp]))                  # (B, H, C, P*Wp)
    prod = op.MatMul(op.Transpose(f1, perm=[0, 2, 3, 1]), rows)        # (B, H, W, P*Wp)
    prod = op.Transpose(op.Reshape(prod, _const_ints([0, H, W, P, Wp])),
                        perm=[0, 1, 3, 2, 4])                          # (B, H, P, W, Wp)
    flat = op.Reshape(prod, _const_ints([0, H, P, W * Wp]))
    flat = op.Pad(flat, _const_ints([0, 0, 0, 0, 0, 0, 0, W]))         # room for the walk
    walk = op.Reshape(flat, _const_ints([0, H, P, W, Wp + 1]))
    band = op.Slice(walk, _const_ints([0]), _const_ints([span]), _const_ints([4]),
                    _const_ints([d]))                                  # (B, H, P, W, P)
    return op.Transpose(band, perm=[0, 2, 4, 1, 3])                    # (B, P, P, H, W)


def tempo_match_onnx(f1, f2, patch_size: int = 15, sigma: float = 5.0,
                     temperature: float = 100.0):
    """``(B, C, H, W)`` x2 -> flow ``(B, 2, H, W)``, confidence ``(B, 1, H, W)``."""
    _, H, W = _static_dims(f1, 'tempo_match f1')
    P = int(patch_size)
    radius = (P - 1) // 2
    corr = op.Relu(op.Reshape(correlation_onnx(f1, f2, P, 1), _const_ints([0, P * P, H, W])))
    confidence = op.ReduceMax(corr, _const_ints([1]), keepdims=1)     # (B, 1, H, W)
    index = op.ArgMax(corr, axis=1, keepdims=1, select_last_index=0)  # first maximum
    k = np.arange(P * P, dtype=np.int64)
    py = op.Constant(value=_float_tensor((k // P).reshape(-1, 1, 1)))
    px = op.Constant(value=_float_tensor((k % P).reshape(-1, 1, 1)))
    p_const = op.Constant(value_int=P)
    iy = op.Cast(op.Div(index, p_const), to=1)                          # int64 floor (>= 0)
    ix = op.Cast(op.Mod(index, p_const), to=1)
    dy, dx = op.Sub(py, iy), op.Sub(px, ix)
    dist = op.Add(op.Mul(dx, dx), op.Mul(dy, dy))
    gaussian = op.Exp(op.Mul(dist, op.Constant(value_float=-1.0 / (2.0 * float(sigma) ** 2))))
    logits = op.Mul(op.Mul(gaussian, corr), op.Constant(value_float=float(temperature)))
    prob = op.Softmax(logits, axis=1)                                  # (B, P*P, H, W)
    inv_r = op.Constant(value_float=1.0 / radius)
    offsets_x = op.Constant(value=_float_tensor((k % P - radius).reshape(-1, 1, 1)))
    offsets_y = op.Constant(value=_float_tensor((k // P - radius).reshape(-1, 1, 1)))
    u = op.Mul(op.ReduceSum(op.Mul(prob, offsets_x), _const_ints([1]), keepdims=1), inv_r)
    v = op.Mul(op.ReduceSum(op.Mul(prob, offsets_y), _const_ints([1]), keepdims=1), inv_r)
    return op.Concat(u, v, axis=1), confidence


def _int_tensor(array: np.ndarray):
    import onnx.numpy_helper
    return onnx.numpy_helper.from_array(array.astype(np.int64))


def _float_tensor(array: np.ndarray):
    import onnx.numpy_helper
    return onnx.numpy_helper.from_array(array.astype(np.float32))


def translation_table() -> Dict[torch._ops.OpOverload, object]:
    """``{torch.ops.mmaction_tcm.<op>.default: onnxscript function}`` for the loaded ops.

    The native library is loaded first when it can be; ops that cannot be registered are
    left out (a model traced without them contains the PyTorch path, which needs none).
    """
    from .native_ops import try_load_native_ops
    try_load_native_ops()
    table = {}
    namespace = torch.ops.mmaction_tcm
    for name, fn in (('correlation', correlation_onnx), ('tempo_match', tempo_match_onnx)):
        try:
            table[getattr(namespace, name).default] = fn
        except (AttributeError, RuntimeError):
            continue
    return table
