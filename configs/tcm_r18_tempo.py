# TSM-ResNet-18 + one TCM after res3 (the released placement, released 15x15 window):
# configs/tsm_r18_tempo.py with `tcm_stages`, the only difference of the demo pair.
# At the demo's 64x64 input the res3 map is 8x8 (stride 8): the 15x15 window reaches every
# position from every pixel. 112x112 (a 14x14 map) learned nothing in the demo's 25-minute
# budget on a 2-core CPU (val top-1 at chance); docs/demo.md gives the measurements.
_base_ = ['./tsm_r18_tempo.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_cfg=dict(patch_size=15)))
