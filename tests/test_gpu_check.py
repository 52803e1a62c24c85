"""The prepared GPU check (tools/analysis/gpu_check.sh) and its benchmark run end to end.

Without a GPU the benchmark runs its ``--tiny`` plumbing mode on the CPU: every table of
both parts must appear with every implementation this machine has.
"""
import os
import subprocess
import sys

import pytest

from helpers import ROOT, native_ops_available

SCRIPTS = ('tools/analysis/gpu_check.sh', 'tools/analysis/gpu_prepare.sh')


@pytest.mark.parametrize('script', SCRIPTS)
def test_device_scripts_parse(script):
    subprocess.run(['bash', '-n', os.path.join(ROOT, script)], check=True)


def test_gpu_check_runs_every_stage_it_names():
    text = open(os.path.join(ROOT, 'tools/analysis/gpu_check.sh')).read()
    for needed in ('.device/wheels', 'spatial_correlation_sampler', 'mmaction_tcm.ops.build',
                   'tests/test_ops_cuda.py', 'benchmark_gpu.py --part ops',
                   '--precisions fp32 bf16 fp16', '--compile --cuda-graphs'):
        assert needed in text, needed


@pytest.mark.slow
@pytest.mark.skipif(not native_ops_available(), reason='native ops not built')
def test_benchmark_gpu_plumbing_on_cpu():
    out = subprocess.run(
        [sys.executable, 'tools/analysis/benchmark_gpu.py', '--device', 'cpu', '--tiny',
         '--precisions', 'fp32', 'bf16'], cwd=ROOT, capture_output=True, text=True,
        timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    titles = [line for line in out.stdout.splitlines()
              if line and not line.startswith('|')]
    assert sum(t.startswith('correlation') for t in titles) == 2
    assert sum(t.startswith('tempo_match') for t in titles) == 2
    for precision in ('fp32', 'bf16'):
        assert any(t.startswith('training step') and precision in t for t in titles)
        assert any(t.startswith('inference') and precision in t for t in titles)
    rows = [line.split('|')[1].strip() for line in out.stdout.splitlines()
            if line.startswith('| ') and not line.startswith('| what')]
    assert {'ours (native)', 'PyTorch path', 'TSM-R18', 'TCM (native)',
            'TCM (pytorch)'} <= set(rows)
