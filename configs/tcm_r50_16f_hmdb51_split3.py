# As tcm_r50_16f_hmdb51_split1.py, on split 3.
_base_ = ['./tcm_r50_16f_hmdb51_split1.py']
train_dataloader = dict(dataset=dict(ann_file='data/hmdb51/hmdb51_train_split_3_videos.txt'))
val_dataloader = dict(dataset=dict(ann_file='data/hmdb51/hmdb51_val_split_3_videos.txt'))
test_dataloader = dict(dataset=dict(ann_file='data/hmdb51/hmdb51_val_split_3_videos.txt'))
