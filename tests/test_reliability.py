"""Resume after SIGKILL, atomic checkpoint writes, determinism, ``--amp`` (issue 8).

The end-to-end tests run ``tools/train.py`` in subprocesses on a tiny TSM-R18+TCM model and
a few generated videos (CPU, one thread, seed 0, deterministic):

- run A trains 3 epochs uninterrupted;
- run B is the same command, killed with SIGKILL in the middle of epoch 2 (after
  ``epoch_1.pth`` was written; a test hook stalls it there so the kill point is exact),
  then restarted with ``--resume`` (without the hook).

B's final weights, its training-loss log after the resume and its validation metrics must
equal A's exactly; A and B up to the kill are two runs with the same seed, so their epoch-1
checkpoints and metrics must be identical too (determinism).
"""
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from mmaction_tcm.engine import (atomic_write_bytes, enable_engine_changes,
                                 find_latest_checkpoint, get_rng_state, set_rng_state)
from helpers import (ROOT, load_weights_only, single_thread, subprocess_env, train_command,
                     write_stalling_config, write_tiny_config, write_video_set)

ATOMIC_IO = os.path.join(ROOT, 'mmaction_tcm', 'engine', 'atomic_io.py')

# --------------------------------------------------------------------------- unit tests


@pytest.fixture(autouse=True, scope='module')
def _engine_changes():
    enable_engine_changes()  # as tools/train.py does: the tests below check mmengine with them


def test_atomic_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / 'sub' / 'epoch_1.pth'
    atomic_write_bytes(b'old contents', target)
    atomic_write_bytes(b'new', target)
    assert target.read_bytes() == b'new'
    assert os.listdir(target.parent) == ['epoch_1.pth']
    plain = tmp_path / 'plain'
    plain.write_bytes(b'')  # the permissions open() gives, under the current umask
    assert os.stat(target).st_mode == os.stat(plain).st_mode


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    """A crash between writing the temporary file and renaming it leaves the old file."""
    target = tmp_path / 'last.pkl'
    atomic_write_bytes(b'complete', target)

    def crash(src, dst):
        raise KeyboardInterrupt('killed')
    monkeypatch.setattr(os, 'replace', crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(b'x' * 1000, target)
    assert target.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['last.pkl']


def test_mmengine_checkpoints_and_dumps_go_through_atomic_writes(tmp_path, monkeypatch):
    import mmengine
    from mmengine.runner.checkpoint import save_checkpoint
    written = []
    import mmaction_tcm.engine.atomic_io as atomic_io
    real = atomic_io.atomic_write_bytes
    monkeypatch.setattr(atomic_io, 'atomic_write_bytes',
                        lambda data, path: (written.append(os.fspath(path)), real(data, path)))
    ckpt = str(tmp_path / 'epoch_1.pth')
    save_checkpoint({'state_dict': {'w': torch.arange(3.)}}, ckpt)
    mmengine.dump([{'pred': 1}], str(tmp_path / 'results.pkl'))
    mmengine.dump({'acc': 0.5}, str(tmp_path / 'metrics.json'))
    assert written == [ckpt, str(tmp_path / 'results.pkl'), str(tmp_path / 'metrics.json')]
    assert torch.equal(load_weights_only(ckpt)['state_dict']['w'], torch.arange(3.))
    assert mmengine.load(str(tmp_path / 'results.pkl')) == [{'pred': 1}]


def test_find_latest_checkpoint_survives_a_damaged_pointer(tmp_path):
    """Selection only (checkpoints are small real ones; the Runner tests below resume from
    real training checkpoints)."""
    from mmengine.runner.checkpoint import save_checkpoint
    d = str(tmp_path)
    assert find_latest_checkpoint(d) is None
    for n in (1, 2, 10):
        save_checkpoint({'meta': {'epoch': n}, 'state_dict': {'w': torch.full((4,), n)}},
                        str(tmp_path / f'epoch_{n}.pth'))
    whole = (tmp_path / 'epoch_10.pth').read_bytes()
    (tmp_path / 'iter_5.pth.tmp').write_bytes(whole)  # not a name a save leaves: kept
    (tmp_path / '.epoch_11.pth.k2j3h4.tmp').write_bytes(whole[:len(whole) // 2])  # killed
    assert find_latest_checkpoint(d) == os.path.join(d, 'epoch_10.pth')  # no pointer
    assert sorted(os.listdir(d)) == ['epoch_1.pth', 'epoch_10.pth', 'epoch_2.pth',
                                     'iter_5.pth.tmp']
    (tmp_path / 'last_checkpoint').write_text(os.path.join(d, 'epoch_2.pth'))
    assert find_latest_checkpoint(d) == os.path.join(d, 'epoch_2.pth')  # pointer wins
    (tmp_path / 'last_checkpoint').write_text('')                       # killed mid-write
    assert find_latest_checkpoint(d) == os.path.join(d, 'epoch_10.pth')
    (tmp_path / 'last_checkpoint').write_text(os.path.join(d, 'epoch_99.pth'))  # removed
    assert find_latest_checkpoint(d) == os.path.join(d, 'epoch_10.pth')
    assert load_weights_only(find_latest_checkpoint(d))['meta'] == {'epoch': 10}
    import mmengine.runner.runner as runner_mod
    assert runner_mod.find_latest_checkpoint is find_latest_checkpoint


def test_rng_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    path = str(tmp_path / 'rng.pth')
    torch.save({'rng_state': get_rng_state()}, path)
    expected = (random.random(), np.random.randn(3).tolist(), torch.rand(3))
    random.seed(2), np.random.seed(2), torch.manual_seed(2)
    set_rng_state(load_weights_only(path)['rng_state'])
    got = (random.random(), np.random.randn(3).tolist(), torch.rand(3))
    assert got[0] == expected[0] and got[1] == expected[1]
    assert torch.equal(got[2], expected[2])


class _FakeRunner:
    def __init__(self, resume, world_size=1, diff_rank_seed=False):
        import logging
        self._resume, self.world_size = resume, world_size
        self._randomness_cfg = dict(seed=0, diff_rank_seed=diff_rank_seed)
        self.logger = logging.getLogger('fake_runner')


@pytest.mark.parametrize('resume,world_size,diff_rank_seed,restored', [
    (True, 1, False, True),     # --resume
    (False, 1, False, False),   # load_from: a new run keeps its own seed
    (True, 2, False, True),     # every rank draws rank 0's stream anyway
    (True, 2, True, False),     # ranks have their own streams
])
def test_rng_state_hook_restores_only_when_continuing_a_run(resume, world_size,
                                                            diff_rank_seed, restored):
    from mmaction_tcm.engine import RNGStateHook
    hook, runner = RNGStateHook(), _FakeRunner(resume, world_size, diff_rank_seed)
    torch.manual_seed(5)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    expected = torch.rand(4)
    torch.manual_seed(6)
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train(runner)
    assert torch.equal(torch.rand(4), expected) == restored


def test_rng_state_hook_isolates_validation():
    from mmaction_tcm.engine import RNGStateHook
    hook, runner = RNGStateHook(), _FakeRunner(False)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    hook.before_val(runner)
    torch.rand(100), np.random.rand(5), random.random()  # what validation may draw
    hook.after_val(runner)
    assert torch.equal(torch.rand(3), expected)


# The child loads only mmaction_tcm/engine/atomic_io.py (a fast start) and installs it as
# ``enable_engine_changes`` does (that it installs it is tested above). It saves a
# 1 MB checkpoint, then a 16 MB one under a 4 MB file-size limit, which interrupts the write
# half-way: with SIGXFSZ at its default action the kernel kills the process there (a kill
# mid-save); with Python's default (ignored) the write fails with EFBIG (a full disk).
DYING_SAVER = r'''
import importlib.util, resource, signal, sys, torch
if sys.argv[4] == 'killed':
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
spec = importlib.util.spec_from_file_location('atomic_io', sys.argv[2])
atomic_io = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atomic_io)
if sys.argv[3] == 'atomic':
    atomic_io.install_atomic_local_writes()
from mmengine.runner.checkpoint import save_checkpoint
save_checkpoint({'state_dict': {'w': torch.ones(1 << 18)}, 'meta': {'n': 1}}, sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))
save_checkpoint({'state_dict': {'w': torch.ones(1 << 22)}, 'meta': {'n': 2}}, sys.argv[1])
print('the second save was not interrupted')
'''


def run_dying_saver(target: str, death: str, mode: str = 'atomic'):
    return subprocess.run([sys.executable, '-c', DYING_SAVER, target, ATOMIC_IO, mode, death],
                          env=subprocess_env(), capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize('death', ['killed', 'write-error'])
def test_process_dying_mid_save_keeps_the_previous_complete_checkpoint(tmp_path, death):
    """(Without atomic writes the file is left truncated at 4 MB and does not load.)"""
    target = str(tmp_path / 'epoch_1.pth')
    proc = run_dying_saver(target, death)
    if death == 'killed':
        assert proc.returncode == -signal.SIGXFSZ, proc.stdout + proc.stderr
    else:
        assert proc.returncode == 1 and 'File too large' in proc.stderr, proc.stderr
    ckpt = load_weights_only(target)
    assert ckpt['meta'] == {'n': 1} and torch.equal(ckpt['state_dict']['w'],
                                                    torch.ones(1 << 18))
    leftovers = [f for f in os.listdir(tmp_path) if f != 'epoch_1.pth']
    assert all(f.startswith('.epoch_1.pth.') and f.endswith('.tmp') for f in leftovers)


# ------------------------------------------------------------------- end-to-end runs

def _run_to_completion(cmd, timeout=300):
    proc = subprocess.run(cmd, env=subprocess_env(), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _run_and_kill(cmd, marker: str, log: str, timeout=300):
    """Start ``cmd`` (whose config stalls after writing ``marker``); SIGKILL it once
    ``marker`` exists. Returns the work-dir listing the stall hook recorded."""
    with open(log, 'w') as out:
        proc = subprocess.Popen(cmd, env=subprocess_env(), stdout=out,
                                stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            deadline = time.time() + timeout
            while not os.path.exists(marker):
                if proc.poll() is not None or time.time() > deadline:
                    with open(log) as f:
                        raise AssertionError('training did not reach the kill point:\n'
                                             + f.read()[-3000:])
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open(marker) as f:
        return f.read().split()


def _scalars(work_dir: str) -> list:
    """Every record of every ``scalars.json`` under ``work_dir`` (all runs, in order)."""
    records = []
    for path in sorted(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def _train_losses(records) -> dict:
    return {r['step']: r['loss'] for r in records if 'loss' in r}


def _val_metrics(records) -> list:
    return [(r['step'], r['acc/top1'], r['acc/mean1']) for r in records if 'acc/top1' in r]


def _state_dict(path: str) -> dict:
    return load_weights_only(path)['state_dict']


def _assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f'{len(different)} tensors differ, e.g. {different[:3]}'


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('reliability'))
    train_ann = write_video_set(root, 'train', 8, seed=1)
    val_ann = write_video_set(root, 'val', 4, seed=2)
    config = write_tiny_config(os.path.join(root, 'tiny_tcm.py'), root, train_ann, val_ann)
    marker = os.path.join(root, 'stalled_in_epoch_2')
    stalling = write_stalling_config(os.path.join(root, 'tiny_tcm_stall.py'), config,
                                     epoch=2, iteration=2, marker=marker)
    dir_a, dir_b = os.path.join(root, 'run_a'), os.path.join(root, 'run_b')
    _run_to_completion(train_command(config, dir_a))
    at_kill = _run_and_kill(train_command(stalling, dir_b), marker,
                            os.path.join(root, 'run_b_killed.log'))
    after_kill = sorted(os.listdir(dir_b))
    b_records_before_resume = _scalars(dir_b)
    _run_to_completion(train_command(config, dir_b, '--resume'))
    return dict(config=config, dir_a=dir_a, dir_b=dir_b, at_kill=at_kill,
                after_kill=after_kill, b_before_resume=b_records_before_resume)


@pytest.mark.slow
def test_kill_happened_mid_epoch_after_a_complete_checkpoint(runs):
    assert 'epoch_1.pth' in runs['at_kill']
    assert 'epoch_2.pth' not in runs['after_kill']
    dir_b = runs['dir_b']
    # every file that looks like a checkpoint is complete
    for name in runs['after_kill']:
        if name.endswith('.pth'):
            assert 'state_dict' in load_weights_only(os.path.join(dir_b, name))
    with open(os.path.join(dir_b, 'last_checkpoint')) as f:
        assert os.path.basename(f.read().strip()) in {'epoch_1.pth', 'epoch_2.pth',
                                                      'epoch_3.pth'}
    # what `--resume` restarted from
    losses = _train_losses(runs['b_before_resume'])
    assert 4 in losses and 8 not in losses  # 4 iterations per epoch; killed in epoch 2


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(runs):
    a, b = runs['dir_a'], runs['dir_b']
    for n in (2, 3):
        _assert_same_state(_state_dict(os.path.join(a, f'epoch_{n}.pth')),
                           _state_dict(os.path.join(b, f'epoch_{n}.pth')))
    records_a, records_b = _scalars(a), _scalars(b)
    losses_a = _train_losses(records_a)
    losses_b = _train_losses(records_b)
    assert sorted(losses_a) == list(range(1, 13))
    # steps 5.. were logged twice in run B (before the kill and after the resume): the
    # resumed values are the later records and must match run A exactly
    assert {s: losses_b[s] for s in range(5, 13)} == {s: losses_a[s] for s in range(5, 13)}
    assert _val_metrics(records_a)[-1] == _val_metrics(records_b)[-1]
    assert len(_val_metrics(records_a)) == 3


@pytest.mark.slow
def test_two_runs_with_the_same_seed_are_identical(runs):
    """Run A and run B up to the kill: same config and seed, separate processes."""
    a, b = runs['dir_a'], runs['dir_b']
    _assert_same_state(_state_dict(os.path.join(a, 'epoch_1.pth')),
                       _state_dict(os.path.join(b, 'epoch_1.pth')))
    before = runs['b_before_resume']
    losses_a, losses_b = _train_losses(_scalars(a)), _train_losses(before)
    assert {s: losses_b[s] for s in range(1, 5)} == {s: losses_a[s] for s in range(1, 5)}
    assert _val_metrics(before)[0] == _val_metrics(_scalars(a))[0]


@pytest.mark.slow
def test_amp_training_on_cpu_uses_bf16_autocast(runs, tmp_path):
    work_dir = str(tmp_path / 'amp')
    out = _run_to_completion(train_command(
        runs['config'], work_dir, '--amp', '--cfg-options', 'train_cfg.max_epochs=1'))
    assert 'CPUAutocastOptimWrapper' in open(glob.glob(os.path.join(
        work_dir, '*', 'vis_data', 'config.py'))[0]).read()
    losses = _train_losses(_scalars(work_dir))
    assert sorted(losses) == [1, 2, 3, 4] and all(np.isfinite(list(losses.values())))
    # bf16 arithmetic: same start as the fp32 run A, different (but finite) weights
    amp_state = _state_dict(os.path.join(work_dir, 'epoch_1.pth'))
    fp32_state = _state_dict(os.path.join(runs['dir_a'], 'epoch_1.pth'))
    assert all(torch.isfinite(v).all() for v in amp_state.values() if v.is_floating_point())
    assert any(not torch.equal(amp_state[k], fp32_state[k]) for k in amp_state)
    assert 'Epoch(train) [1][4/4]' in out


def _killed_while_saving(runs, work, pointer: str) -> str:
    """A work dir as a run killed while saving epoch 3 leaves it: run A's real
    ``epoch_1.pth`` / ``epoch_2.pth``, the first half of its ``epoch_3.pth`` as the save's
    temporary, and ``last_checkpoint`` holding ``pointer``. Returns the temporary's path."""
    work.mkdir()
    for n in (1, 2):
        shutil.copy(os.path.join(runs['dir_a'], f'epoch_{n}.pth'), work)
    with open(os.path.join(runs['dir_a'], 'epoch_3.pth'), 'rb') as f:
        whole = f.read()
    partial = work / '.epoch_3.pth.k2j3h4.tmp'
    partial.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(RuntimeError):  # it really is a broken checkpoint
        torch.load(partial, weights_only=True)
    (work / 'last_checkpoint').write_text(pointer)
    return str(partial)


def _resume_in_runner(config: str, work) -> 'Runner':  # noqa: F821
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(config)
    cfg.work_dir, cfg.resume = str(work), True
    with single_thread():  # run A ran with one thread: same float reductions
        runner = Runner.from_cfg(cfg)
        runner.train()
    return runner


@pytest.mark.slow
@pytest.mark.parametrize('pointer', ['', 'epoch_3.pth'])
def test_runner_resume_skips_a_killed_save_and_matches_the_uninterrupted_run(runs, tmp_path,
                                                                             pointer):
    """``resume=True`` through the stock Runner with an empty pointer (killed while writing
    it) or one naming a checkpoint that does not exist: training continues from the real
    ``epoch_2.pth`` (only epoch 3's iterations run), the half-written temporary is removed,
    and the final weights equal run A's bit for bit."""
    work = tmp_path / 'work'
    partial = _killed_while_saving(runs, work, pointer and str(work / pointer))
    runner = _resume_in_runner(runs['config'], work)
    assert runner.epoch == 3 and not os.path.exists(partial)
    assert sorted(_train_losses(_scalars(str(work)))) == [9, 10, 11, 12]
    _assert_same_state(_state_dict(str(work / 'epoch_3.pth')),
                       _state_dict(os.path.join(runs['dir_a'], 'epoch_3.pth')))


@pytest.mark.slow
def test_runner_resume_from_a_truncated_checkpoint_fails_naming_it(runs, tmp_path):
    """A truncated file under a checkpoint's own name (atomic writes never leave one; a copy
    cut short can) is not loaded silently: resuming fails with an error naming it."""
    work = tmp_path / 'work'
    _killed_while_saving(runs, work, '')
    with open(work / 'epoch_2.pth', 'r+b') as f:
        f.truncate(os.path.getsize(work / 'epoch_2.pth') // 2)
    with pytest.raises(ValueError, match=r"epoch_2\.pth' is not a readable torch checkpoint"):
        _resume_in_runner(runs['config'], work)
