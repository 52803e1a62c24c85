"""ConvBNStack: the folded-BatchNorm inference path of TCM equals the released arithmetic."""
import pytest
import torch
import torch.nn as nn

import mmaction_tcm  # noqa: F401
from mmaction_tcm.models import TCM
from mmaction_tcm.models.tcm import ConvBNStack
from helpers import randomise_bn_stats, released_params
from reference_tcm import tcm_reference


def stacks(tcm):
    return [m for m in tcm.modules() if isinstance(m, ConvBNStack)]


@pytest.mark.parametrize('mode', ['no_grad', 'inference_mode'])
def test_inference_path_matches_released_reference(mode):
    torch.manual_seed(0)
    T = 4
    tcm = TCM(24, T, reduced_channels=12, patch_size=5, corr_backend='pytorch').double()
    randomise_bn_stats(tcm)
    tcm.eval()
    x = torch.randn(2 * T, 24, 6, 5, dtype=torch.float64)
    x_before = x.clone()
    expected = tcm_reference(x, released_params(tcm), T, patch_size=5)
    context = torch.no_grad() if mode == 'no_grad' else torch.inference_mode()
    with context:
        out = tcm(x)
    # the folded path really ran: every conv of MTDM and TAM has cached folded weights
    assert len(stacks(tcm)) == 5
    assert all(len(s._folded) == len(s._groups) for s in stacks(tcm))
    torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)
    assert torch.equal(x, x_before)  # the in-place attention product never touches x
    assert out.data_ptr() != x.data_ptr()


def test_training_and_autograd_use_the_modules():
    torch.manual_seed(0)
    tcm = TCM(16, 4, reduced_channels=8, patch_size=3, corr_backend='pytorch')
    x = torch.randn(8, 16, 5, 5)
    with torch.no_grad():  # train mode: batch statistics, running stats updated, no folding
        tcm.train()
        before = tcm.mtdm.channel_reduction[1].running_mean.clone()
        tcm(x)
        assert not torch.equal(before, tcm.mtdm.channel_reduction[1].running_mean)
    tcm.eval()
    out = tcm(x)  # eval with autograd: the module-by-module path, gradients reach BN
    out.sum().backward()
    assert tcm.tam.conv4[4].weight.grad is not None
    assert all(len(s._folded) == 0 for s in stacks(tcm))


def test_folded_weights_follow_parameter_changes():
    torch.manual_seed(0)
    tcm = TCM(16, 4, reduced_channels=8, patch_size=3, corr_backend='pytorch')
    randomise_bn_stats(tcm)
    tcm.eval()
    x = torch.randn(8, 16, 5, 5)

    def check():
        with torch.no_grad():
            folded = tcm(x)
        reference = tcm(x).detach()  # autograd on: no folding
        torch.testing.assert_close(folded, reference, rtol=1e-5, atol=1e-5)
        return folded

    first = check()
    with torch.no_grad():  # in-place change of a running statistic
        tcm.tam.conv4[4].running_var.mul_(4.0)
    second = check()
    assert not torch.allclose(first, second)
    state = {k: v.clone() for k, v in tcm.state_dict().items()}
    state['mtdm.channel_reduction.0.weight'].mul_(-1.0)
    tcm.load_state_dict(state)  # load_state_dict copies in place
    third = check()
    assert not torch.allclose(second, third)
    tcm.double()  # .to() replaces the tensors
    with torch.no_grad():
        assert tcm(x.double()).dtype == torch.float64


def test_state_dict_keys_are_those_of_sequential():
    tcm = TCM(16, 4, reduced_channels=8, patch_size=3)
    keys = set(tcm.state_dict())
    for key in ('mtdm.channel_reduction.0.weight', 'mtdm.channel_reduction.1.running_var',
                'tam.conv1.9.weight', 'tam.conv1.10.bias', 'tam.conv4.3.weight',
                'tam.conv4.4.num_batches_tracked'):
        assert key in keys


def test_ablation_variants_fold_too():
    torch.manual_seed(0)
    for kwargs in (dict(use_mtdm=False), dict(use_tam=False)):
        tcm = TCM(16, 4, reduced_channels=8, patch_size=3, corr_backend='pytorch', **kwargs)
        randomise_bn_stats(tcm)
        tcm.eval()
        x = torch.randn(8, 16, 5, 5)
        reference = tcm(x).detach()
        with torch.no_grad():
            torch.testing.assert_close(tcm(x), reference, rtol=1e-5, atol=1e-5)


def test_batchnorm_without_running_stats_is_not_folded():
    stack = ConvBNStack(nn.Conv2d(3, 4, 3, padding=1),
                        nn.BatchNorm2d(4, track_running_stats=False), nn.ReLU())
    stack.eval()
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        out = stack(x)
    assert not stack._folded
    torch.testing.assert_close(out, torch.relu(stack[1](stack[0](x))))


@pytest.mark.parametrize('modules', [
    (nn.Conv2d(3, 4, 1), nn.ReLU()),
    (nn.Conv2d(3, 4, 1), ),
    (nn.BatchNorm2d(3), nn.Conv2d(3, 4, 1)),
    (nn.Conv2d(3, 4, 3, padding=1, padding_mode='reflect'), nn.BatchNorm2d(4)),
])
def test_bad_structure_is_refused(modules):
    with pytest.raises(TypeError, match=r'ConvBNStack expects \(Conv2d with zero padding'):
        ConvBNStack(*modules)
