# The paper's ablation recipe (Sec. IV-C, TSM-ResNet-18 on Sth-V1, Tables III r18, VII, VIII):
# 40 epochs, total batch 64, lr 0.02 (x0.1 at epochs 20 and 30), weight decay 5e-4, dropout
# 0.5; optimiser details as the released Sth recipe (Nesterov SGD, momentum 0.9, no decay on
# BN / biases, biases at 2x lr, grad-norm clip 200).
_base_ = ['./sgd_tsm_50e.py']

train_cfg = dict(max_epochs=40)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=40, by_epoch=True, milestones=[20, 30], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(enable=True, base_batch_size=64)
