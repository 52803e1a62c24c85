# I3D-ResNet-50 baseline, 32 x 224^2 clips, Something-Something V1.
# Not a row of the paper's Table III (its 3-D row is 3D-ResNeXt-101 at 16 x 112^2:
# configs/resnext3d101_sthv1.py); this follows Table IV's 32-frame I3D setting with
# MMAction2's I3D-R50, on the Table III data protocol and schedule.
_base_ = [
    './_base_/models/tcm_i3d_r50.py', './_base_/datasets/sthv1_3d_32x224.py',
    './_base_/schedules/sgd_tsm_50e.py', './_base_/default_runtime.py'
]
