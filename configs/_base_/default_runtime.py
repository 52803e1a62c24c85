# Runtime shared by every mmaction_tcm config (MMAction2 1.x conventions).
# `custom_imports` makes any tool (ours, MMAction2's, `mim`) register TCM and the TCM
# backbones before the model is built ('mmaction_tcm'), and switches on our engine changes
# ('mmaction_tcm.engine.runtime'): atomic checkpoint writes, resuming from the newest intact
# checkpoint, weights-only checkpoint loading, `--launcher pytorch` without CUDA.
custom_imports = dict(imports=['mmaction_tcm', 'mmaction_tcm.engine.runtime'],
                      allow_failed_imports=False)
default_scope = 'mmaction'

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo on machines without CUDA.
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False

# Bit-exact `--resume`: RNG state saved in every checkpoint and restored on resume;
# validation runs on a copy of the RNG state (mmaction_tcm.engine.rng_state_hook).
# Configs that set their own custom_hooks should keep this entry.
custom_hooks = [dict(type='RNGStateHook')]
