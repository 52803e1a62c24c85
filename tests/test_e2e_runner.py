"""End to end through the stock mmengine Runner: train, validate, save, resume, test."""
import glob
import os

import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from helpers import ROOT, load_weights_only, make_video_set, point_config_at


@pytest.mark.slow
def test_train_validate_resume_test(tmp_path):
    data = tmp_path / 'videos'
    ann = make_video_set(str(data), num_videos=9)
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_r50_sthv2.py'))
    point_config_at(cfg, ann, str(data), tmp_path / 'work')
    # every split decodes the generated mp4 files with decord
    assert cfg.test_dataloader.dataset.pipeline[0]['type'].endswith('DecordInit')

    runner = Runner.from_cfg(cfg.copy())
    runner.train()
    ckpt = tmp_path / 'work' / 'epoch_1.pth'
    assert ckpt.exists()
    first = {k: v.clone() for k, v in runner.model.state_dict().items()}

    # resume: continues from epoch 1 to epoch 2 with the saved optimizer and scheduler
    cfg2 = cfg.copy()
    cfg2.train_cfg.max_epochs = 2
    cfg2.resume = True
    cfg2.load_from = str(ckpt)
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()
    assert runner2.epoch == 2 and (tmp_path / 'work' / 'epoch_2.pth').exists()
    changed = any(not torch.equal(first[k], v)
                  for k, v in runner2.model.state_dict().items() if v.is_floating_point())
    assert changed

    # test from the last checkpoint (load_from goes through weights_only loading); the
    # metrics are those of the predictions the test loop dumps, made by epoch 2's weights
    cfg3 = cfg.copy()
    cfg3.load_from = str(tmp_path / 'work' / 'epoch_2.pth')
    dump = str(tmp_path / 'preds.pkl')
    cfg3.test_evaluator = [dict(type='AccMetric'),
                           dict(type='DumpResults', out_file_path=dump)]
    tester = Runner.from_cfg(cfg3)
    metrics = tester.test()
    assert set(metrics) >= {'acc/top1', 'acc/top5', 'acc/mean1'}
    saved = load_weights_only(tmp_path / 'work' / 'epoch_2.pth')['state_dict']
    assert all(torch.equal(v, saved[k]) for k, v in tester.model.state_dict().items())
    preds = mmengine.load(dump)
    assert len(preds) == 9
    scores = torch.stack([p['pred_score'] for p in preds])
    labels = torch.tensor([int(p['gt_label'][0]) for p in preds])
    assert metrics['acc/top1'] == pytest.approx(
        (scores.argmax(1) == labels).double().mean().item())
    assert not glob.glob(str(tmp_path / 'work' / '*.tmp*'))
