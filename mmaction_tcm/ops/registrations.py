"""What torch.library needs from Python for the ``mmaction_tcm::*`` schemas of ``ops/csrc``.

- autograd: both ops save only their inputs; ``tempo_match``'s backward recomputes the
  per-pixel cost volume instead of storing ``(B, P*P, H, W)``;
- fake (meta) kernels for all four ops, so ``torch.compile`` and export trace them.

The hard argmax that centres the Gaussian is the *first* maximum over the ``P*P``
displacements (row-major ``k = dy * P + dx``), like ``torch.max`` on CPU; it carries no
gradient. float16 / bfloat16 inputs are computed in float32 and cast back.
Called by :func:`.extension.load` once the library (which defines the schemas) is loaded.
"""
import torch

_registered = False


def grad_format(t: torch.Tensor) -> torch.memory_format:
    """Layout of an input's gradient; the C++ ``grad_format`` (tcm_binding_common.h) agrees."""
    if t.dim() == 4 and not t.is_contiguous() and t.is_contiguous(
            memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _grads_like(f1: torch.Tensor, f2: torch.Tensor):
    return (torch.empty_like(f1, memory_format=grad_format(f1)),
            torch.empty_like(f2, memory_format=grad_format(f2)))


def _correlation_fake(f1, f2, patch_size, dilation_patch=1):
    """``(B, C, H, W)`` x2 -> ``(B, P, P, H, W)`` in the promoted dtype."""
    B, _, H, W = f1.shape
    dtype = torch.promote_types(f1.dtype, f2.dtype)
    return f1.new_empty((B, patch_size, patch_size, H, W), dtype=dtype)


def _correlation_backward_fake(grad, f1, f2, patch_size, dilation_patch):
    return _grads_like(f1, f2)


def _tempo_match_fake(f1, f2, patch_size=15, sigma=5.0, temperature=100.0):
    """flow ``(B, 2, H, W)`` and confidence ``(B, 1, H, W)`` in the promoted dtype."""
    B, _, H, W = f1.shape
    dtype = torch.promote_types(f1.dtype, f2.dtype)
    return (f1.new_empty((B, 2, H, W), dtype=dtype), f1.new_empty((B, 1, H, W), dtype=dtype))


def _tempo_match_backward_fake(grad_flow, grad_confidence, f1, f2, patch_size, sigma,
                               temperature):
    return _grads_like(f1, f2)


def _correlation_setup(ctx, inputs, output):
    f1, f2, patch_size, dilation_patch = inputs
    ctx.save_for_backward(f1, f2)
    ctx.args = (patch_size, dilation_patch)


def _correlation_backward(ctx, grad):
    f1, f2 = ctx.saved_tensors
    g1, g2 = torch.ops.mmaction_tcm.correlation_backward(grad, f1, f2, *ctx.args)
    return g1, g2, None, None


def _tempo_match_setup(ctx, inputs, output):
    f1, f2, patch_size, sigma, temperature = inputs
    ctx.save_for_backward(f1, f2)
    ctx.args = (patch_size, sigma, temperature)


def _tempo_match_backward(ctx, grad_flow, grad_conf):
    f1, f2 = ctx.saved_tensors
    B, _, H, W = f1.shape
    dtype = torch.promote_types(f1.dtype, f2.dtype)
    if grad_flow is None:
        grad_flow = f1.new_zeros((B, 2, H, W), dtype=dtype)
    if grad_conf is None:
        grad_conf = f1.new_zeros((B, 1, H, W), dtype=dtype)
    g1, g2 = torch.ops.mmaction_tcm.tempo_match_backward(grad_flow, grad_conf, f1, f2, *ctx.args)
    return g1, g2, None, None, None


def register_autograd_and_fake_kernels() -> None:
    """Register the fake kernels and autograd formulas (once per process)."""
    global _registered
    if _registered:
        return
    lib = torch.library
    lib.register_fake('mmaction_tcm::correlation')(_correlation_fake)
    lib.register_fake('mmaction_tcm::correlation_backward')(_correlation_backward_fake)
    lib.register_fake('mmaction_tcm::tempo_match')(_tempo_match_fake)
    lib.register_fake('mmaction_tcm::tempo_match_backward')(_tempo_match_backward_fake)
    lib.register_autograd('mmaction_tcm::correlation', _correlation_backward,
                          setup_context=_correlation_setup)
    lib.register_autograd('mmaction_tcm::tempo_match', _tempo_match_backward,
                          setup_context=_tempo_match_setup)
    _registered = True
