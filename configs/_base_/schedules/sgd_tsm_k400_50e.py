# TSM's Kinetics-400 recipe, which the paper follows for K400: SGD momentum 0.9, weight decay
# 1e-4 (none on BN and biases, biases at 2x lr, classifier at 5x / 10x lr: fc_lr5), lr 0.02 for a
# total batch of 128, x0.1 at epochs 20/40, 50 epochs, gradient-norm clip 20.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=50, by_epoch=True, milestones=[20, 40], gamma=0.1)
]

optim_wrapper = dict(
    constructor='TSMOptimWrapperConstructor',
    paramwise_cfg=dict(fc_lr5=True),
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=20, norm_type=2))

auto_scale_lr = dict(enable=True, base_batch_size=128)
