"""tools/test.py (--dump, --test-protocol), tools/analysis/ensemble.py and get_flops.py."""
import os
import pickle
import sys

import numpy as np
import pytest
import torch

from tools_helpers import PY, ROOT, run, shared_trained_run

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


def test_get_flops_counts_tcm_and_its_correlation(capsys):
    """TCM's share is counted, including the matching (no TCM op left without a handle).

    Independent reference for the matching: one correlation of two (B, C, H, W) maps over a
    P x P window is B*C*H*W*P*P multiply-adds; the released TCM runs 2 scales x (T-1) pairs.
    """
    opts = ['model.backbone.depth=18', 'model.cls_head.in_channels=512']
    tcm_total, _ = get_flops.main(['configs/tcm_r18_sthv1.py', '--shape', '8', '3', '64', '64',
                                   '--cfg-options'] + opts)
    out = capsys.readouterr().out
    assert 'mmaction_tcm::' not in out.split('Ops without a FLOP handle')[-1]
    tsm_total, _ = get_flops.main(['configs/tsm_r18_sthv1.py', '--shape', '8', '3', '64', '64'])
    # res3 of R18 at 64x64: 128 channels, 8x8; reduction to 64 channels
    t, c, hw, p = 8, 64, 8 * 8, 15
    matching = 2 * (t - 1) * c * hw * p * p
    reduction = t * 128 * 64 * hw
    assert tcm_total - tsm_total >= matching + reduction
    # the rest (TAM convs) is small next to the matching at this size
    assert tcm_total - tsm_total < 2 * (matching + reduction) + 3_000_000
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
