# HMDB-51 videos, split 1 (MMAction2 layout: tools/data/hmdb51). TSM's fine-tuning
# protocol (from a Kinetics-400 model): short side 256, multi-scale crop 224, flip;
# test: 2 uniformly sampled clips, centre crop 224 (paper, Tables II and VI).
# 8 frames per clip (TSN segments). Pipelines, test protocols and batches: ucf101.py.
_base_ = ['./ucf101.py']

num_classes = 51
data_root = 'data/hmdb51/videos'
data_root_val = 'data/hmdb51/videos'
ann_file_train = 'data/hmdb51/hmdb51_train_split_1_videos.txt'
ann_file_val = 'data/hmdb51/hmdb51_val_split_1_videos.txt'
ann_file_test = 'data/hmdb51/hmdb51_val_split_1_videos.txt'

# the base's dataloader dicts took its variables' values when it was read, so the
# dataset keys are set again here (each dict merges key by key into the base's)
train_dataloader = dict(dataset=dict(
    num_classes=num_classes, ann_file=ann_file_train, data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(
    num_classes=num_classes, ann_file=ann_file_val, data_prefix=dict(video=data_root_val)))
test_dataloader = dict(dataset=dict(
    num_classes=num_classes, ann_file=ann_file_test, data_prefix=dict(video=data_root_val)))
