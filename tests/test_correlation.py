"""PyTorch correlation / tempo_match against the loop reference; gradcheck in float64."""
import pytest
import torch

from mmaction_tcm.ops import correlation, tempo_match
from reference_tcm import correlation_loop, match_reference


@pytest.mark.parametrize('shape,patch,dil', [((2, 5, 7, 9), 5, 1), ((1, 3, 4, 4), 7, 1),
                                             ((2, 4, 6, 5), 3, 2), ((1, 2, 3, 8), 15, 1)])
def test_correlation_matches_loop(shape, patch, dil):
    g = torch.Generator().manual_seed(0)
    f1, f2 = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    out = correlation(f1, f2, patch, dil, corr_backend='pytorch')
    assert out.shape == (shape[0], patch, patch, shape[2], shape[3])
    torch.testing.assert_close(out, correlation_loop(f1, f2, patch, dil), rtol=1e-5, atol=1e-5)


def test_correlation_semantics_single_shift():
    """A map shifted right by 2 pixels peaks at displacement dx=+2 (index r+2)."""
    f1 = torch.zeros(1, 1, 5, 8)
    f1[0, 0, 2, 3] = 1.0
    f2 = torch.roll(f1, shifts=2, dims=3)
    out = correlation(f1, f2, 5, corr_backend='pytorch')
    assert out[0, 2, 4, 2, 3] == 1.0 and out.sum() == 1.0


def test_correlation_gradcheck():
    g = torch.Generator().manual_seed(1)
    f1 = torch.randn(1, 3, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    f2 = torch.randn(1, 3, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: correlation(a, b, 3, corr_backend='pytorch'),
                                    (f1, f2))


def test_tempo_match_matches_reference():
    g = torch.Generator().manual_seed(2)
    f1, f2 = torch.randn(3, 8, 6, 7, generator=g), torch.randn(3, 8, 6, 7, generator=g)
    f1, f2 = f1 / f1.norm(dim=1, keepdim=True), f2 / f2.norm(dim=1, keepdim=True)
    flow, conf = tempo_match(f1, f2, 5, sigma=2.0, temperature=20.0, corr_backend='pytorch')
    rflow, rconf = match_reference(f1, f2, 5, 2.0, 20.0)
    torch.testing.assert_close(flow, rflow, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conf, rconf)
    assert flow.abs().max() <= 1.0


def test_tempo_match_recovers_translation():
    """Features translated by (+1 down, -2 left) give v ~ +1/r, u ~ -2/r away from borders."""
    g = torch.Generator().manual_seed(3)
    f1 = torch.nn.functional.normalize(torch.randn(1, 16, 12, 12, generator=g), dim=1)
    f2 = torch.roll(f1, shifts=(1, -2), dims=(2, 3))
    flow, conf = tempo_match(f1, f2, 7, corr_backend='pytorch')
    r = 3
    inner = (slice(None), slice(None), slice(3, 9), slice(3, 9))
    torch.testing.assert_close(flow[:, 0][inner[:1] + inner[2:]],
                               torch.full((1, 6, 6), -2 / r), atol=1e-3, rtol=0)
    torch.testing.assert_close(flow[:, 1][inner[:1] + inner[2:]],
                               torch.full((1, 6, 6), 1 / r), atol=1e-3, rtol=0)
    torch.testing.assert_close(conf[inner], torch.ones(1, 1, 6, 6), atol=1e-5, rtol=0)


def test_tempo_match_gradcheck():
    g = torch.Generator().manual_seed(4)
    f1 = torch.randn(1, 4, 4, 4, dtype=torch.float64, generator=g).requires_grad_()
    f2 = torch.randn(1, 4, 4, 4, dtype=torch.float64, generator=g).requires_grad_()
    # temperature small enough that the softmax is smooth at float64 step sizes
    assert torch.autograd.gradcheck(
        lambda a, b: tempo_match(a, b, 3, sigma=1.0, temperature=2.0, corr_backend='pytorch'),
        (f1, f2))


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_size=4), 'patch_size must be an odd'),
    (dict(patch_size=1), 'patch_size must be an odd integer >= 3'),
    (dict(sigma=0.0), 'sigma must be a positive'),
    (dict(temperature=-1.0), 'temperature must be a positive'),
])
def test_tempo_match_bad_arguments(kwargs, match):
    f = torch.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match=match):
        tempo_match(f, f, **kwargs)


def test_correlation_bad_inputs():
    f = torch.randn(1, 2, 3, 3)
    with pytest.raises(ValueError, match='same shape'):
        correlation(f, torch.randn(1, 2, 3, 4), 3)
    with pytest.raises(ValueError, match='4-D'):
        correlation(f[0], f[0], 3)
    with pytest.raises(ValueError, match='patch_size must be an odd'):
        correlation(f, f, 2)
    with pytest.raises(ValueError, match='dilation_patch'):
        correlation(f, f, 3, dilation_patch=0)
    with pytest.raises(ValueError, match='corr_backend must be one of'):
        correlation(f, f, 3, corr_backend='cuda')
