"""FLOP-counter handles (mmengine ``FlopAnalyzer`` / ``get_model_complexity_info``).

mmengine counts an op it has no handle for as 0, so a TCM traced through the native ops
would report no matching cost. Counts follow mmengine's convention (one multiply-add = 1):

- ``mmaction_tcm::correlation``: ``B * P^2 * H * W * C`` (one dot product of length C per
  displacement and pixel);
- ``mmaction_tcm::tempo_match``: the same correlation term plus ``MATCH_OPS_PER_ENTRY``
  per displacement and pixel for ReLU / Gaussian weight / exp / soft-argmax sums.

Use ``FlopAnalyzer(model, inputs).set_op_handle(**tcm_flop_handles())``, or call
:func:`register_flop_handles` once so that ``get_model_complexity_info`` counts them too.
"""
from typing import Any, Callable, Dict, List

MATCH_OPS_PER_ENTRY = 5


def _shape(value: Any) -> List[int]:
    from mmengine.analysis.jit_handles import get_shape
    shape = get_shape(value)
    if shape is None:
        raise ValueError('mmaction_tcm flop handle: input shape unknown in the traced graph')
    return list(shape)


def _constant(value: Any) -> Any:
    return value.toIValue()


def correlation_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``B * P^2 * H * W * C`` for ``correlation(f1, f2, patch_size, dilation_patch)``."""
    B, C, H, W = _shape(inputs[0])
    P = int(_constant(inputs[2]))
    return B * P * P * H * W * C


def tempo_match_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """Correlation term plus ``MATCH_OPS_PER_ENTRY`` per displacement and pixel."""
    B, C, H, W = _shape(inputs[0])
    P = int(_constant(inputs[2]))
    return B * P * P * H * W * (C + MATCH_OPS_PER_ENTRY)


def tcm_flop_handles() -> Dict[str, Callable]:
    """``{op name: handle}`` for ``FlopAnalyzer.set_op_handle(**handles)``."""
    return {'mmaction_tcm::correlation': correlation_flop_jit,
            'mmaction_tcm::tempo_match': tempo_match_flop_jit}


def register_flop_handles() -> None:
    """Add the handles to mmengine's default table (used by ``get_model_complexity_info``)."""
    from mmengine.analysis import complexity_analysis
    complexity_analysis._DEFAULT_SUPPORTED_FLOP_OPS.update(tcm_flop_handles())
