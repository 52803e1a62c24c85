"""End to end through the stock mmengine Runner: train, validate, save, resume, test."""
import glob
import os

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tiny_videos import point_config_at
from tools_helpers import make_video_set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.slow
def test_train_validate_resume_test(tmp_path):
    data = tmp_path / 'videos'
    ann = make_video_set(str(data), num_videos=9)
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'tcm_r50_sthv2.py'))
    point_config_at(cfg, ann, str(data), work_dir=tmp_path / 'work')
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

    # test from the last checkpoint (load_from goes through weights_only loading)
    cfg3 = cfg.copy()
    cfg3.load_from = str(tmp_path / 'work' / 'epoch_2.pth')
    metrics = Runner.from_cfg(cfg3).test()
    assert set(metrics) >= {'acc/top1', 'acc/top5', 'acc/mean1'}
    assert 0.0 <= metrics['acc/top1'] <= 1.0
    assert not glob.glob(str(tmp_path / 'work' / '*.tmp*'))
