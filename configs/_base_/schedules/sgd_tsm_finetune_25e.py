# TSM's UCF-101 / HMDB-51 fine-tuning recipe (from a Kinetics-400 model), which the paper
# follows: SGD momentum 0.9, weight decay 5e-4 (none on BN and biases; new classifier at 5x /
# 10x lr), lr 0.001 for a total batch of 64, x0.1 at epochs 10/20, 25 epochs, grad clip 20.
# Dropout 0.8 is set in the model (see the *_ucf101 / *_hmdb51 configs).
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=25, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=25, by_epoch=True, milestones=[10, 20], gamma=0.1)
]

optim_wrapper = dict(
    constructor='TSMOptimWrapperConstructor',
    paramwise_cfg=dict(fc_lr5=True),
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=5e-4),
    clip_grad=dict(max_norm=20, norm_type=2))

auto_scale_lr = dict(enable=True, base_batch_size=64)
