"""The three ways users run the package, end to end on tiny generated videos.

* ``mim train`` / ``mim test`` on the package installed non-editably (as ``make install``);
* a stock MMAction2 config + ``custom_imports`` + ``ResNetTSMTCM`` through MMAction2's own
  ``tools/train.py`` / ``tools/test.py``;
* ``tools/dist_train.sh`` / ``tools/dist_test.sh`` with two processes on a machine without
  GPUs (gloo), the 2-process test giving the 1-process scores.
"""
import os
import pickle
import random
import shutil

import pytest
import torch

import mmaction
from helpers import (PY, ROOT, build_site, load_weights_only, run, shared_trained_run,
                     tiny_video_options)

pytestmark = pytest.mark.slow

MMACTION_MIM = os.path.join(os.path.dirname(mmaction.__file__), '.mim')
STOCK_TSM = os.path.join(MMACTION_MIM, 'configs', 'recognition', 'tsm',
                         'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py')


def _scores(path):
    with open(path, 'rb') as f:
        samples = pickle.load(f)
    return (torch.stack([s['pred_score'] for s in samples]),
            [int(s['gt_label'][0]) for s in samples])


def _port():
    return str(random.randint(21000, 29000))


def test_dist_test_two_processes_match_one(tmp_path_factory):
    shared = shared_trained_run(tmp_path_factory)
    dump2 = os.path.join(shared['base'], 'two_procs.pkl')
    env = dict(PYTHON=PY, PORT=_port())
    proc = run(['bash', 'tools/dist_test.sh', 'configs/tcm_r50_sthv2.py', shared['ckpt'], '2',
                '--dump', dump2, '--cfg-options'] + shared['opts']
               + [f'work_dir={shared["base"]}/test2'], env=env)
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    one, labels1 = _scores(shared['dump1'])
    two, labels2 = _scores(dump2)
    assert labels1 == labels2
    torch.testing.assert_close(two, one, rtol=1e-4, atol=1e-5)
    assert (one.argmax(1) == two.argmax(1)).all()


def test_dist_train_two_processes(tmp_path_factory):
    shared = shared_trained_run(tmp_path_factory)
    work = os.path.join(shared['base'], 'dist_train')
    opts = [o for o in shared['opts'] if not o.startswith('work_dir=')] + [f'work_dir={work}']
    proc = run(['bash', 'tools/dist_train.sh', 'configs/tcm_r50_sthv2.py', '2',
                '--cfg-options'] + opts, env=dict(PYTHON=PY, PORT=_port()))
    log = proc.stdout + proc.stderr
    assert 'Distributed training: True' in log
    # 6 videos, 2 per process and step, 2 processes: 2 iterations per epoch
    assert 'Epoch(train) [1][2/2]' in log and 'acc/top1' in log
    state = load_weights_only(os.path.join(work, 'epoch_1.pth'))['state_dict']
    assert any(k.startswith('backbone.tcm_after_layer2.') for k in state)
    assert not any(k.startswith('module.') for k in state)


def test_mim_train_and_test_on_the_installed_package(tmp_path_factory):
    shared = shared_trained_run(tmp_path_factory)
    base = tmp_path_factory.mktemp('mim')
    site = build_site(str(base / 'site'))
    assert os.path.isfile(os.path.join(site, 'mmaction_tcm', '.mim', 'tools', 'train.py'))
    assert os.path.isfile(os.path.join(site, 'mmaction_tcm', '.mim', 'configs',
                                       'tcm_r50_sthv2.py'))
    cwd = base / 'elsewhere'  # not the checkout: mim must find config and tool in the package
    cwd.mkdir()
    env = dict(PYTHONPATH=site)
    mim = [PY, '-c', 'import sys; from mim.cli import cli; sys.exit(cli())']
    work = str(base / 'work')
    opts = [o for o in shared['opts'] if not o.startswith('work_dir=')] + [f'work_dir={work}']
    proc = run(mim + ['train', 'mmaction_tcm', 'tcm_r50_sthv2.py', '--cfg-options'] + opts,
               cwd=str(cwd), env=env)
    assert os.path.join(site, 'mmaction_tcm', '.mim', 'configs') in proc.stdout
    ckpt = os.path.join(work, 'epoch_1.pth')
    assert os.path.isfile(ckpt)
    dump = str(base / 'mim.pkl')
    run(mim + ['test', 'mmaction_tcm', 'tcm_r50_sthv2.py', '--checkpoint', ckpt, '--dump', dump,
               '--cfg-options'] + opts, cwd=str(cwd), env=env)
    scores, labels = _scores(dump)
    assert scores.shape == (6, 174) and labels == [i % 3 for i in range(6)]


def test_stock_mmaction2_config_through_mmaction2_tools(tmp_path_factory):
    shared = shared_trained_run(tmp_path_factory)
    base = tmp_path_factory.mktemp('stock')
    cfg_path = base / 'tsm_tcm_stock.py'
    cfg_path.write_text(
        f"_base_ = [{STOCK_TSM!r}]\n"
        "custom_imports = dict(imports=['mmaction_tcm'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(type='ResNetTSMTCM', pretrained=None, tcm_stages=(1, )))\n")
    tools = os.path.join(MMACTION_MIM, 'tools')
    work = str(base / 'work')
    opts = tiny_video_options(str(cfg_path), shared['data'], shared['ann'], work)
    env = dict(PYTHONPATH=ROOT)  # this checkout's mmaction_tcm, as custom_imports imports it
    # MMAction2's stock test pipeline: ThreeCrop over twice-sampled clips
    run([PY, os.path.join(tools, 'train.py'), str(cfg_path), '--cfg-options'] + opts, env=env)
    ckpt = os.path.join(work, 'epoch_1.pth')
    state = load_weights_only(ckpt)['state_dict']
    assert any(k.startswith('backbone.tcm_after_layer2.mtdm.') for k in state)
    dump = str(base / 'stock.pkl')
    proc = run([PY, os.path.join(tools, 'test.py'), str(cfg_path), ckpt, '--dump', dump,
                '--cfg-options'] + opts, env=env)
    assert 'acc/top1' in proc.stdout + proc.stderr
    scores, _ = _scores(dump)
    assert scores.shape == (6, 174)
    shutil.rmtree(work, ignore_errors=True)
