# Variant of configs/tcm_r18_tempo.py with the TCM after res3 (the released placement),
# trained exactly like configs/tsm_r18_tempo.py.
#
# patch_size: at 64x64 input the res3 map is 8x8 (stride 8). A fast actor moves about
# 0.7 res3 cells between neighbouring sampled frames and up to ~5 cells between the first
# and the last frame (the slow-tempo pair), so an 11x11 window (radius 5) covers every
# displacement of the data set; the released 15x15 window (radius 7) would only add
# out-of-map positions at this resolution.
_base_ = ['./tsm_r18_tempo.py']

model = dict(backbone=dict(tcm_stages=(1, ), tcm_cfg=dict(patch_size=11)))
