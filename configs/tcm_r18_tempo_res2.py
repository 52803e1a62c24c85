# Variant of configs/tcm_r18_tempo.py with the TCM after res2 (paper Table VII placement
# "res2") and the released 15x15 window. At 64x64 input the res3 map is only 8x8; the
# res2 map (16x16, stride 4) is the closest analogue of the released 28x28 res3 map at
# 224x224. Its radius-7 window reaches 28 pixels: every fast pair (t, t+1) and the slow
# pairs (0, t+1) of the slow slides fit; the last slow pairs of the fast slides and of
# pass (about 29-40 px over the sampled span) fall outside and match with low confidence.
# Same data, schedule and seed as the TSM baseline configs/tsm_r18_tempo.py.
_base_ = ['./tsm_r18_tempo.py']

model = dict(backbone=dict(tcm_stages=(0, ), tcm_cfg=dict(patch_size=15)))
