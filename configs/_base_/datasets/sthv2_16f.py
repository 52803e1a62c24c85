# Something-Something V2 with the protocol of sthv2.py (its header explains it), but 16 frames per
# clip (TSN segments) in training, validation and every test view.
_base_ = ['./sthv2.py']

# the base's pipelines with each frame sampler set to 16 segments; a list replaces the
# base's list whole, while the dataloader dicts below merge key by key into the base's
train_pipeline, val_pipeline, test_pipeline = (
    [dict(t, num_clips=16) if t.type == 'SampleFrames' else
     dict(t, num_segments=16) if t.type == 'SampleSegmentViews' else t for t in pipeline]
    for pipeline in (_base_.train_pipeline, _base_.val_pipeline, _base_.test_pipeline))
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
