"""Argument checks shared by the ops, the modules and the datasets (``ValueError`` naming
the argument and the expected value)."""
import torch


def check_int(name: str, value, minimum=None, maximum=None, odd: bool = False) -> None:
    """``value`` must be an ``int`` (not a bool) in ``[minimum, maximum]``, odd if asked.

    Messages: ``'{name} must be an int >= {minimum}, got {value!r}'``, ``'... an int in
    [{minimum}, {maximum}] ...'``, or with ``odd``, ``'... an odd integer >= {minimum} ...'``.
    """
    ok = isinstance(value, int) and not isinstance(value, bool)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    ok = ok and (not odd or value % 2 == 1)
    if ok:
        return
    kind = 'an odd integer' if odd else 'an int'
    if minimum is not None and maximum is not None:
        bound = f' in [{minimum}, {maximum}]'
    elif minimum is not None:
        bound = f' >= {minimum}'
    elif maximum is not None:
        bound = f' <= {maximum}'
    else:
        bound = ''
    raise ValueError(f'{name} must be {kind}{bound}, got {value!r}')


def check_patch_size(patch_size, minimum: int = 1) -> None:
    """An odd ``P >= minimum``."""
    check_int('patch_size', patch_size, minimum=minimum, odd=True)


def check_positive(name: str, value) -> None:
    """A real number (int or float, not a bool) ``> 0``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')


def check_match_arguments(patch_size, sigma, temperature) -> None:
    """The scalar arguments of ``tempo_match`` (``MTDM`` / ``TCM`` check them at construction)."""
    check_patch_size(patch_size, minimum=3)
    check_positive('sigma', sigma)
    check_positive('temperature', temperature)


def check_feature_pair(f1, f2, name1: str = 'f1', name2: str = 'f2') -> None:
    """Two floating-point ``(B, C, H, W)`` tensors of one shape on one device."""
    for name, t in ((name1, f1), (name2, f2)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got {type(t).__name__}')
        if t.dim() != 4:
            raise ValueError(f'{name} must be 4-D (B, C, H, W), got shape {tuple(t.shape)}')
        if not t.is_floating_point():
            raise TypeError(f'{name} must be a floating-point tensor, got {t.dtype}')
    if f1.shape != f2.shape:
        raise ValueError(f'{name1} and {name2} must have the same shape, got '
                         f'{tuple(f1.shape)} and {tuple(f2.shape)}')
    if f1.device != f2.device:
        raise ValueError(f'{name1} and {name2} must be on the same device, got '
                         f'{f1.device} and {f2.device}')
