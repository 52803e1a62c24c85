# TSM-ResNet-18 + one TCM after res3 (the released placement, released 15x15 window):
# configs/tsm_r18_tempo.py with `tcm_stages`, the only difference of the demo pair.
# At 112x112 input the res3 map is 14x14 (stride 8), as large as the window is wide.
_base_ = ['./tsm_r18_tempo.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_cfg=dict(patch_size=15)))
