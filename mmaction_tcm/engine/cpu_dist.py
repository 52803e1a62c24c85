"""Multi-process runs on machines without CUDA (gloo), for every launcher path.

Two stock behaviours stop ``--launcher pytorch`` (``tools/dist_train.sh``) on a CPU machine:

* mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` unconditionally and
  initialises the configured backend (``nccl`` in every OpenMMLab runtime config);
* ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to ``MMDistributedDataParallel``,
  which PyTorch rejects for a module whose parameters live on the CPU.

:func:`install_cpu_dist_fixes` (one of the engine changes, see
:func:`mmaction_tcm.engine.enable_engine_changes`) fixes both: without CUDA the pytorch
launcher initialises a ``gloo`` group from the torchrun environment (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``); and CPU modules are wrapped without
``device_ids``. With CUDA present nothing changes (NCCL, one process per GPU, as in
MMAction2).
"""
import os

import torch
import torch.distributed as torch_dist

_PATCHED = '_mmaction_tcm_cpu_dist'


def cuda_available() -> bool:
    return torch.cuda.is_available()


def init_cpu_process_group(backend: str = 'gloo', **kwargs) -> None:
    """Initialise a process group from the torchrun environment without touching CUDA.

    A no-op when a group already exists (mmengine's Runner then skips its own
    ``init_dist``). ``nccl`` is replaced by ``gloo`` (NCCL needs GPUs).
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        return
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if var not in os.environ:
            raise RuntimeError(f'--launcher pytorch needs the environment variable {var} '
                               '(set by torchrun / tools/dist_train.sh)')
    if backend in (None, 'nccl'):
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **kwargs)


def _patch_init_dist_pytorch() -> None:
    from mmengine.dist import utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, _PATCHED, False):
        return

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if cuda_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        return init_cpu_process_group(backend, **kwargs)

    setattr(_init_dist_pytorch, _PATCHED, True)
    dist_utils._init_dist_pytorch = _init_dist_pytorch


def _module_on_cpu(module: torch.nn.Module) -> bool:
    devices = {p.device.type for p in module.parameters()}
    return devices <= {'cpu'}


def _patch_ddp_device_ids() -> None:
    from mmengine.model import MMDistributedDataParallel
    original = MMDistributedDataParallel.__init__
    if getattr(original, _PATCHED, False):
        return

    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs):
        if kwargs.get('device_ids') is not None and _module_on_cpu(module):
            kwargs['device_ids'] = None  # PyTorch: device_ids only for GPU modules
            kwargs.pop('output_device', None)
        original(self, module, detect_anomalous_params=detect_anomalous_params, **kwargs)

    setattr(__init__, _PATCHED, True)
    MMDistributedDataParallel.__init__ = __init__


def install_cpu_dist_fixes() -> None:
    """Apply both fixes (idempotent). The launcher fix only acts where CUDA is absent."""
    _patch_init_dist_pytorch()
    _patch_ddp_device_ids()
