# The released Something-Something recipe (README command of the TCM release):
# SGD, momentum 0.9, Nesterov, weight decay 5e-4 on conv / fc weights only (BN and biases
# without decay, biases at 2x lr: TSMOptimWrapperConstructor; the release's classifier is a
# plain layer, hence fc_lr5=False), lr 0.01 for a total batch of 32, x0.1 at epochs 30/40/45,
# 50 epochs, gradient-norm clip 200.
# `auto_scale_lr` rescales lr linearly to the real total batch (GPUs x batch per GPU).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=50, by_epoch=True, milestones=[30, 40, 45],
         gamma=0.1)
]

optim_wrapper = dict(
    constructor='TSMOptimWrapperConstructor',
    paramwise_cfg=dict(fc_lr5=False),
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    clip_grad=dict(max_norm=200, norm_type=2))

auto_scale_lr = dict(enable=True, base_batch_size=32)
