"""tools/test.py (--dump, --test-protocol), tools/analysis/ensemble.py and get_flops.py."""
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from helpers import PY, ROOT, native_ops_available, run, shared_trained_run, tcm_param_count
from reference_tcm import eca_kernel

sys.path.insert(0, os.path.join(ROOT, 'tools'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'analysis'))
import ensemble  # noqa: E402
import get_flops  # noqa: E402


def _write_dump(path, scores, labels):
    samples = [dict(pred_score=torch.tensor(s, dtype=torch.float32),
                    gt_label=torch.tensor([lab])) for s, lab in zip(scores, labels)]
    with open(path, 'wb') as f:
        pickle.dump(samples, f)


def test_ensemble_averages_scores_and_reports_topk(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n, k = 40, 12
    labels = rng.integers(0, k, n)
    a, b = rng.random((n, k)), rng.random((n, k))
    _write_dump(tmp_path / 'a.pkl', a, labels)
    _write_dump(tmp_path / 'b.pkl', b, labels)
    t1, t5 = ensemble.main([str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl'),
                            '--out', str(tmp_path / 'e.pkl')])
    # independent reference: torch.topk on the float32 mean
    mean = torch.tensor((a.astype(np.float32) + b.astype(np.float32)) / 2)
    top5 = mean.topk(5, dim=1).indices.numpy()
    assert t1 == pytest.approx(np.mean(top5[:, 0] == labels))
    assert t5 == pytest.approx(np.mean([labels[i] in top5[i] for i in range(n)]))
    with open(tmp_path / 'e.pkl', 'rb') as f:
        np.testing.assert_allclose(pickle.load(f)['scores'], mean.numpy(), rtol=1e-6)
    assert 'ensemble of 2: top1' in capsys.readouterr().out
    # weights: all weight on `a` reproduces `a` alone
    t1a, _ = ensemble.main([str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl'),
                            '--weights', '1', '0'])
    assert t1a == pytest.approx(np.mean(a.argmax(1) == labels))


def test_ensemble_refuses_mismatched_dumps(tmp_path):
    _write_dump(tmp_path / 'a.pkl', np.eye(3), [0, 1, 2])
    _write_dump(tmp_path / 'b.pkl', np.eye(3), [0, 2, 1])
    with pytest.raises(SystemExit, match='labels differ'):
        ensemble.main([str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl')])
    with open(tmp_path / 'c.pkl', 'wb') as f:
        pickle.dump({'x': 1}, f)
    with pytest.raises(SystemExit, match='not a tools/test.py --dump file'):
        ensemble.main([str(tmp_path / 'c.pkl')])


def released_tcm_macs(T, C, H, W, R=64, P=15, use_mtdm=True, use_tam=True, backend='native'):
    """Multiply-adds of one clip through a TCM, counted independently from the released
    structure in get_flops' convention (mmengine / fvcore: a multiply-add is 1, element-wise
    ops are free, inference with BN folded into the convs, so BN costs nothing):

    - MTDM: the 1x1 reduction ``T*HW*C*R``; ``2T-3`` matchings (``T-1`` fast pairs and the
      ``T-2`` slow pairs other than (0, 1)), each ``HW * P^2 * (R + 5)`` with the native op
      (the correlation's dot products plus ``ops.flops.MATCH_OPS_PER_ENTRY`` = 5 per entry),
      or with the PyTorch path the GEMM it runs, ``HW * C * P * (W + P - 1)``;
    - TAM: per pixel and frame 3 grouped 3x3 convs 6->6 (2 inputs, 9 taps), 6->16, then
      depthwise 3x3 + 1x1 to 32, 64 and C; the temporal conv1d ``C*T*k``;
    - the ablations: "TAM only" projects C->6 (``T*HW*6C``), "MTDM only" lifts 6->C.
    """
    hw = H * W
    if use_mtdm:
        per_match = hw * P * P * (R + 5) if backend == 'native' else hw * R * P * (W + P - 1)
        mtdm = T * hw * C * R + (2 * T - 3) * per_match
    else:
        mtdm = T * hw * C * 6
    if use_tam:
        per_pixel = (3 * 6 * 2 * 9 + 6 * 16 + 16 * 9 + 16 * 32 + 32 * 9 + 32 * 64 + 64 * 9
                     + 64 * C)
        tam = T * hw * per_pixel + C * T * eca_kernel(T)
    else:
        tam = T * hw * 6 * C
    return mtdm + tam


SHAPE_64 = ['--shape', '8', '3', '64', '64']


@pytest.fixture(scope='module')
def tsm_r18_flops():
    """``(multiply-adds, parameters)`` of TSM-R18 at 8 x 64^2 through get_flops."""
    return get_flops.main(['configs/tsm_r18_sthv1.py'] + SHAPE_64)


@pytest.mark.parametrize('variant,kwargs,backend', [
    ('', {}, 'native'), ('', {}, 'pytorch'),
    ('_mtdm_only', dict(use_tam=False), 'native'), ('_tam_only', dict(use_mtdm=False), 'native')])
def test_get_flops_tcm_count_is_exact(variant, kwargs, backend, tsm_r18_flops, capsys):
    """TSM-R18 + TCM after res3 at 8 x 64^2 (res3: 128 channels, 8x8): the whole-model
    difference to TSM-R18 and the "of which TCM" line equal :func:`released_tcm_macs`, and
    no TCM op is left without a FLOP handle."""
    if backend == 'native' and 'use_mtdm' not in kwargs and not native_ops_available():
        pytest.skip('native ops not built: the native count needs them')
    tcm_total, tcm_params = get_flops.main(
        [f'configs/tcm_r18_sthv1{variant}.py'] + SHAPE_64
        + ['--cfg-options', f'model.backbone.tcm_cfg.corr_backend={backend}'])
    out = capsys.readouterr().out
    assert 'mmaction_tcm::' not in out.split('Ops without a FLOP handle')[-1]
    tsm_total, tsm_params = tsm_r18_flops
    expected = released_tcm_macs(8, 128, 8, 8, backend=backend, **kwargs)
    assert tcm_total - tsm_total == expected
    assert f'of which TCM: {expected / 1e9:.3f} G' in out
    assert tcm_params - tsm_params == tcm_param_count(128, 8, **kwargs)


def test_get_flops_input_shapes():
    assert get_flops.input_shape([8, 3, 64, 64], type('Recognizer2D', (), {})()) == (
        1, 8, 3, 64, 64)


@pytest.mark.slow
def test_test_tool_dump_protocols_and_ensemble(tmp_path_factory):
    shared = shared_trained_run(tmp_path_factory)
    base = shared['base']
    with open(shared['dump1'], 'rb') as f:
        one = pickle.load(f)
    assert len(one) == 6 and one[0]['pred_score'].shape == (174, )
    # 10 clips x 3 crops through --test-protocol: 30 views per video, still one score each
    dump30 = os.path.join(base, 'views30.pkl')
    opts = shared['opts'] + [f'work_dir={base}/test30',
                             'test_dataloader.dataset.pipeline.3.scale=(40,32)']
    proc = run([PY, 'tools/test.py', 'configs/tcm_r50_sthv2.py', shared['ckpt'], '--dump', dump30,
                '--test-protocol', '10clip_3crop', '--cfg-options'] + opts)
    assert 'acc/top1' in proc.stdout + proc.stderr
    with open(dump30, 'rb') as f:
        thirty = pickle.load(f)
    assert len(thirty) == 6
    s1 = torch.stack([d['pred_score'] for d in one])
    s30 = torch.stack([d['pred_score'] for d in thirty])
    assert torch.allclose(s30.sum(1), torch.ones(6), atol=1e-4)  # averaged probabilities
    assert not torch.allclose(s1, s30)  # the views changed the prediction inputs
    t1, _ = ensemble.main([shared['dump1'], dump30])
    mean = (s1 + s30) / 2
    labels = torch.tensor([int(d['gt_label'][0]) for d in one])
    assert t1 == pytest.approx(float((mean.argmax(1) == labels).float().mean()))
    import subprocess
    proc = subprocess.run([PY, 'tools/test.py', 'configs/tcm_r50_sthv2.py', shared['ckpt'],
                           '--test-protocol', 'nope'], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and "available: ['10clip', '10clip_3crop'" in proc.stderr
