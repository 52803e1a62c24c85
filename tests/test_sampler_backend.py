"""corr_backend='spatial_correlation_sampler': the released op behind our interface.

The package needs CUDA to build, so here it is replaced by a stand-in module that checks the
exact arguments the release passes (kernel 1, stride 1, no padding) and computes the cost
volume with the independent loop reference.
"""
import sys
import types

import pytest
import torch

from mmaction_tcm.models import TCM
from mmaction_tcm.ops import backends, correlation, tempo_match
from reference_tcm import correlation_loop, match_reference

NAME = 'spatial_correlation_sampler'


@pytest.fixture
def fresh_resolution(monkeypatch):
    monkeypatch.setattr(backends, '_resolved', {})


@pytest.fixture
def stand_in_sampler(monkeypatch, fresh_resolution):
    calls = []

    def spatial_correlation_sample(input1, input2, kernel_size, patch_size, stride, padding,
                                   dilation_patch):
        assert (kernel_size, stride, padding) == (1, 1, 0)
        assert input1.is_contiguous() and input2.is_contiguous()
        calls.append((tuple(input1.shape), patch_size, dilation_patch))
        return correlation_loop(input1, input2, patch_size, dilation_patch)

    module = types.ModuleType(NAME)
    module.spatial_correlation_sample = spatial_correlation_sample
    monkeypatch.setitem(sys.modules, NAME, module)
    return calls


def features(shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.rand(shape, generator=g, dtype=torch.float64),
                                         dim=1)


def test_missing_package_is_named_at_construction(monkeypatch, fresh_resolution):
    monkeypatch.setitem(sys.modules, NAME, None)  # import fails
    with pytest.raises(RuntimeError, match='spatial-correlation-sampler package'):
        TCM(16, 4, reduced_channels=8, patch_size=5, corr_backend=NAME)
    with pytest.raises(RuntimeError, match="corr_backend='native' or 'pytorch'"):
        correlation(features((1, 4, 5, 5), 0), features((1, 4, 5, 5), 1), 3,
                    corr_backend=NAME)


def test_sampler_backend_computes_the_released_matching(stand_in_sampler):
    f1, f2 = features((2, 8, 9, 11), 0), features((2, 8, 9, 11), 1)
    # a strided view goes in: the backend must hand the sampler contiguous tensors
    f1 = f1.transpose(2, 3).contiguous().transpose(2, 3)
    corr = correlation(f1, f2, 5, corr_backend=NAME)
    torch.testing.assert_close(corr, correlation_loop(f1, f2, 5), rtol=1e-12, atol=1e-14)
    flow, conf = tempo_match(f1, f2, 7, sigma=2.0, temperature=50.0, corr_backend=NAME)
    ref_flow, ref_conf = match_reference(f1, f2, 7, sigma=2.0, temperature=50.0)
    torch.testing.assert_close(flow, ref_flow, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(conf, ref_conf, rtol=1e-10, atol=1e-12)
    assert stand_in_sampler[-1] == ((2, 8, 9, 11), 7, 1)


def test_tcm_with_the_sampler_equals_tcm_with_the_pytorch_path(stand_in_sampler):
    torch.manual_seed(0)
    ours = TCM(16, 4, reduced_channels=8, patch_size=5, corr_backend='pytorch').double()
    released = TCM(16, 4, reduced_channels=8, patch_size=5, corr_backend=NAME).double()
    released.load_state_dict(ours.state_dict())
    x = torch.randn(8, 16, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(released(x), ours(x), rtol=1e-9, atol=1e-10)
    assert len(stand_in_sampler) == 2  # fast pairs, then the remaining slow pairs
