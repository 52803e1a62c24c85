"""Argument checks shared by the op entry points."""
import torch


def check_feature_pair(f1, f2, name1: str = 'f1', name2: str = 'f2') -> None:
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


def check_patch_size(patch_size, minimum: int = 1) -> None:
    if isinstance(patch_size, bool) or not isinstance(patch_size, int):
        raise TypeError(f'patch_size must be an int, got {patch_size!r}')
    if patch_size < minimum or patch_size % 2 == 0:
        raise ValueError(f'patch_size must be an odd integer >= {minimum}, got {patch_size}')


def check_positive(name: str, value, allow_int: bool = False) -> None:
    kinds = (int, float) if allow_int else (float, int)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')
