"""A ``Sequential`` of conv + BN (+ ReLU) groups with a folded-BatchNorm inference path."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights


class ConvBNStack(nn.Sequential):
    """``nn.Sequential`` of ``(Conv2d, BatchNorm2d[, ReLU])`` groups.

    Training, or any call that records autograd, runs the modules one by one (the released
    computation). Inference (eval mode and no autograd, e.g. under ``torch.no_grad()``) runs
    each group as one convolution whose weights have the BatchNorm folded in, followed by an
    in-place ReLU: the same function up to float rounding, without the BatchNorm pass and its
    output buffer. The folded weights are cached and recomputed whenever a conv or BN tensor
    is replaced or changed in place (``load_state_dict``, an optimizer step, ``.to()``).
    Child names, and so state-dict keys, are those of a plain ``nn.Sequential``.
    Shape: ``(N, C_in, H, W) -> (N, C_out, H', W')``.
    """

    def __init__(self, *modules: nn.Module):
        super().__init__(*modules)
        self._groups = self._parse_groups(list(self.children()))
        self._folded: dict = {}

    @staticmethod
    def _parse_groups(modules: List[nn.Module]) -> List[Tuple[int, bool]]:
        """``[(index of the conv, followed by a ReLU)]``; each conv must be followed by a BN."""
        groups, i = [], 0
        while i < len(modules):
            conv = modules[i]
            bn = modules[i + 1] if i + 1 < len(modules) else None
            if (not isinstance(conv, nn.Conv2d) or conv.padding_mode != 'zeros'
                    or not isinstance(bn, nn.BatchNorm2d)):
                raise TypeError(f'ConvBNStack expects (Conv2d with zero padding, BatchNorm2d'
                                f'[, ReLU]) groups; '
                                f'got {type(conv).__name__} then {type(bn).__name__} at '
                                f'index {i}')
            relu = i + 2 < len(modules) and isinstance(modules[i + 2], nn.ReLU)
            groups.append((i, relu))
            i += 3 if relu else 2
        return groups

    def _fold_key(self, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple:
        tensors = [conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var]
        return (bn.eps, torch.is_inference_mode_enabled()) + tuple(
            None if t is None else (t.data_ptr(), t._version) for t in tensors)

    def _folded_weights(self, index: int) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        conv, bn = self[index], self[index + 1]
        key = self._fold_key(conv, bn)
        cached = self._folded.get(index)
        if cached is None or cached[0] != key:
            weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean,
                                                bn.running_var, bn.eps, bn.weight, bn.bias)
            cached = (key, weight.detach(), bias.detach())
            self._folded[index] = cached
        return cached[1], cached[2]

    def _use_folded(self) -> bool:
        if self.training or torch.is_grad_enabled() or torch.compiler.is_compiling():
            return False
        # BatchNorm without running statistics normalises with the batch's: not foldable.
        return all(self[i + 1].track_running_stats and self[i + 1].running_var is not None
                   for i, _ in self._groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._use_folded():
            return super().forward(x)
        for index, relu in self._groups:
            conv = self[index]
            weight, bias = self._folded_weights(index)
            x = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation,
                         conv.groups)
            if relu:
                x = F.relu(x, inplace=True)
        return x
