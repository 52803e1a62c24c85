"""The synthetic tempo-video generator: decodable, balanced, deterministic, and classes
that differ only in motion (a single frame does not give the label away)."""
import collections
import colorsys
import filecmp
import os

import numpy as np
import pytest

from mmaction_tcm.datasets import tempo_videos as tv


def _rng(i=0):
    return tv.video_rng(0, 'train', i)


def test_render_shape_dtype_and_determinism():
    a = tv.render_video(3, _rng(5), size=40, num_frames=6)
    b = tv.render_video(3, _rng(5), size=40, num_frames=6)
    c = tv.render_video(3, _rng(6), size=40, num_frames=6)
    assert a.shape == (6, 40, 40, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c).mean() > 10  # another video looks different
    assert np.abs(a[0].astype(int) - a[-1]).mean() > 0  # something moves


@pytest.mark.parametrize('kwargs, match', [
    (dict(label=12), 'label'), (dict(label=-1), 'label'),
    (dict(label=0, size=16), 'size'), (dict(label=0, num_frames=1), 'num_frames')])
def test_render_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tv.render_video(rng=_rng(), **kwargs)


def _paths(label, seed=0, size=64, num_frames=9, radii=(6.0, 7.0)):
    rng = np.random.default_rng(seed)
    s = np.linspace(0, 1, num_frames)
    return tv._trajectories(label, rng, size, s, list(radii))


def test_slow_and_fast_are_the_same_motion_at_two_tempos():
    for direction, unit in tv._DIRECTIONS.items():
        for seed in range(5):
            travel = {}
            for tempo in ('slow', 'fast'):
                (path, ) = _paths(f'slide_{direction}_{tempo}', seed)
                step = np.diff(path, axis=0)
                # constant velocity along the class direction
                np.testing.assert_allclose(step, np.broadcast_to(step[0], step.shape),
                                           atol=1e-9)
                cos = step[0] @ np.array(unit) / np.linalg.norm(step[0])
                assert cos == pytest.approx(1.0)
                travel[tempo] = np.linalg.norm(path[-1] - path[0])
            assert travel['fast'] > 1.7 * travel['slow']


def test_approach_is_recede_reversed():
    for seed in range(5):
        approach = _paths('approach', seed)
        recede = _paths('recede', seed)
        for a, r in zip(approach, recede):
            np.testing.assert_allclose(a, r[::-1])
        gap = np.linalg.norm(approach[0] - approach[1], axis=1)
        assert np.all(np.diff(gap) < 0)


def test_pass_and_bounce_cover_the_same_positions_with_swapped_identities():
    for seed in range(5):
        pa, pb = _paths('pass', seed)
        ba, bb = _paths('bounce', seed)
        for t in range(len(pa)):  # same set of positions in every frame
            same = np.allclose(pa[t], ba[t]) and np.allclose(pb[t], bb[t])
            swapped = np.allclose(pa[t], bb[t]) and np.allclose(pb[t], ba[t])
            assert same or swapped
        # ... but each actor ends on the other side only when they pass
        np.testing.assert_allclose(pa[-1], bb[-1], atol=1e-6)
        np.testing.assert_allclose(ba[-1], ba[0], atol=1e-6)


def _frame_stats(frames):
    """Per-frame mean and std colour: ``(T, 6)``."""
    f = frames.reshape(frames.shape[0], -1, 3).astype(np.float64)
    return np.concatenate([f.mean(1), f.std(1)], axis=1)


def _nearest_centroid_accuracy(features, labels, num_classes):
    """Fit class centroids on even-indexed videos, classify odd-indexed ones."""
    train, test = slice(0, None, 2), slice(1, None, 2)
    mu, sd = features[train].mean(0), features[train].std(0) + 1e-9
    z = (features - mu) / sd
    centroids = np.stack([z[train][labels[train] == c].mean(0) for c in range(num_classes)])
    pred = np.argmin(((z[test][:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    return float((pred == labels[test]).mean())


def test_a_single_frame_does_not_give_the_label_away():
    num_classes, per_class, size, frames_per_video = len(tv.CLASSES), 24, 32, 8
    labels = tv.split_labels('train', per_class, seed=1)
    pick = np.random.default_rng(0)
    feats, leaky = [], []
    for i, label in enumerate(labels):
        video = tv.render_video(int(label), tv.video_rng(1, 'train', i), size,
                                frames_per_video)
        t = pick.integers(frames_per_video)  # one random frame per video
        feats.append(_frame_stats(video[t:t + 1])[0])
        # control: the same statistic on frames tinted by class must find the label
        tinted = video[t:t + 1].astype(np.float64)
        tinted[..., label % 3] += 40.0 * (1 + label // 3)
        leaky.append(_frame_stats(tinted)[0])
    labels = np.asarray(labels)
    chance = 1 / num_classes
    n_test = len(labels) // 2
    # 3 binomial standard deviations above chance
    bound = chance + 3 * np.sqrt(chance * (1 - chance) / n_test)
    acc = _nearest_centroid_accuracy(np.stack(feats), labels, num_classes)
    assert acc < bound, f'single-frame colour statistics predict the class: {acc:.2f}'
    assert _nearest_centroid_accuracy(np.stack(leaky), labels, num_classes) > 0.5


def test_generate_dataset_decodable_balanced_deterministic(tmp_path):
    decord = pytest.importorskip('decord')
    per_class = {'train': 2, 'val': 1, 'test': 1}
    seen = []

    def progress(split, done, total):
        seen.append((split, done, total))

    a = tv.generate_dataset(str(tmp_path / 'a'), per_class, size=32, num_frames=8, seed=3,
                            progress=progress)
    b = tv.generate_dataset(str(tmp_path / 'b'), per_class, size=32, num_frames=8, seed=3,
                            workers=2)
    n = len(tv.CLASSES)
    assert seen[-1] == ('test', n, n) and len(seen) == 4 * n
    with open(tmp_path / 'a' / 'label_map.txt') as f:
        assert f.read().split() == list(tv.CLASSES)
    for split, k in per_class.items():
        with open(a[split]) as f:
            lines = [line.split() for line in f.read().splitlines()]
        assert collections.Counter(int(lab) for _, lab in lines) == {c: k for c in range(n)}
        for rel, lab in lines:
            path_a, path_b = tmp_path / 'a' / rel, tmp_path / 'b' / rel
            assert filecmp.cmp(path_a, path_b, shallow=False), rel  # same bytes
            reader = decord.VideoReader(str(path_a))
            assert len(reader) == 8
            frames = reader.get_batch(list(range(8))).asnumpy()
            assert frames.shape == (8, 32, 32, 3)
            # decoded video is close to what the renderer drew (lossy codec)
            index = int(os.path.basename(rel).split('_')[1].split('.')[0])
            drawn = tv.render_video(int(lab), tv.video_rng(3, split, index), 32, 8)
            assert np.abs(frames.astype(int) - drawn).mean() < 12
    # a different seed gives different videos
    c = tv.generate_dataset(str(tmp_path / 'c'), {'test': 1}, size=32, num_frames=8, seed=4)
    with open(c['test']) as f:
        rel = f.readline().split()[0]
    assert not filecmp.cmp(tmp_path / 'a' / rel, tmp_path / 'c' / rel, shallow=False)


def test_annotation_lists_load_in_mmaction_video_dataset(tmp_path):
    pytest.importorskip('decord')
    from mmaction.datasets import VideoDataset
    ann = tv.generate_dataset(str(tmp_path), {'val': 1}, size=32, num_frames=8, seed=0)
    ds = VideoDataset(ann_file=ann['val'], data_prefix=dict(video=str(tmp_path)),
                      pipeline=[], test_mode=True)
    assert len(ds) == len(tv.CLASSES)
    info = ds.get_data_info(0)
    assert os.path.isfile(info['filename'])
    assert sorted(ds.get_data_info(i)['label'] for i in range(len(ds))) == list(
        range(len(tv.CLASSES)))


@pytest.mark.parametrize('per_class, workers, match', [
    ({'training': 1}, 1, 'per_class keys'), ({'train': 0}, 1, r"per_class\['train'\]"),
    ({'train': 1}, 0, 'workers')])
def test_generate_dataset_rejects_bad_arguments(tmp_path, per_class, workers, match):
    with pytest.raises(ValueError, match=match):
        tv.generate_dataset(str(tmp_path), per_class, workers=workers)


@pytest.mark.parametrize('total, stride', [(32, 2), (32, 3), (32, 4), (33, 4), (40, 3)])
def test_pad_end_sampler_matches_mmaction_sampleframes_when_in_range(total, stride):
    from mmaction.datasets.transforms import SampleFrames
    from mmaction_tcm.datasets.clip_end_padding import SampleFramesPadEnd
    ours = SampleFramesPadEnd(8, stride)(dict(total_frames=total, start_index=0))
    ref = SampleFrames(8, stride, num_clips=1, test_mode=True)(
        dict(total_frames=total, start_index=0))
    np.testing.assert_array_equal(ours['frame_inds'], ref['frame_inds'])


@pytest.mark.parametrize('total, stride, expected', [
    (32, 8, [0, 8, 16, 24, 31, 31, 31, 31]),  # the video's last frame is copied
    (32, 5, [0, 5, 10, 15, 20, 25, 30, 31]),
    (3, 2, [0, 2, 2, 2, 2, 2, 2, 2])])
def test_pad_end_sampler_copies_the_last_frame(total, stride, expected):
    from mmaction_tcm.datasets.clip_end_padding import SampleFramesPadEnd
    out = SampleFramesPadEnd(8, stride)(dict(total_frames=total, start_index=0))
    assert out['frame_inds'].tolist() == expected
    assert out['clip_len'] == 8 and out['num_clips'] == 1
    with pytest.raises(ValueError, match='frame_interval'):
        SampleFramesPadEnd(8, 0)


def _scene(task_label, index, appearance=None, seed=2, size=32):
    return tv.sample_scene(task_label, tv.video_rng(seed, 'train', index), size, 4, appearance)


def _majority_rule_accuracy(x, y, num_x, num_y):
    """Predict ``y`` from ``x`` by the most frequent ``y`` of each ``x`` value in the even
    samples; accuracy on the odd samples."""
    counts = np.zeros((num_x, num_y))
    np.add.at(counts, (x[::2], y[::2]), 1)
    return float((counts.argmax(1)[x[1::2]] == y[1::2]).mean())


def test_appearance_class_does_not_predict_the_motion_class():
    """In the motion data every object's appearance class is drawn independently of the
    motion class: predicting the motion from the actor's appearance stays at chance."""
    n_app, n_motion = len(tv.APPEARANCE_CLASSES), len(tv.CLASSES)
    motion = tv.split_labels('train', 100, seed=2)
    appearance = np.array([_scene(int(m), i)['actors'][0].appearance
                           for i, m in enumerate(motion)])
    chance = 1 / n_motion
    n_test = len(motion) // 2
    bound = chance + 3 * np.sqrt(chance * (1 - chance) / n_test)
    acc = _majority_rule_accuracy(appearance, motion, n_app, n_motion)
    assert acc < bound, f'the appearance class predicts the motion class: {acc:.3f}'
    # every appearance class occurs (uniform draw), and the rule does find a dependence
    # of the same data size when there is one: half the labels copied from appearance
    assert set(appearance.tolist()) == set(range(n_app))
    copied = np.random.default_rng(0).random(len(motion)) < 0.5
    leaky = np.where(copied, appearance % n_motion, motion)
    assert _majority_rule_accuracy(appearance, leaky, n_app, n_motion) > bound + 0.1


def test_appearance_videos_show_only_objects_of_the_label_class():
    for label in range(len(tv.APPEARANCE_CLASSES)):
        scene = _scene(label % len(tv.CLASSES), label, appearance=label)
        sprites = scene['actors'] + scene['distractors']
        assert all(s.appearance == label for s in sprites)
        shape, palette = tv.APPEARANCE_CLASSES[label].split('_')
        hue_centre = tv.PALETTES[palette]
        for s in sprites:
            assert s.shape == shape
            for colour in (s.colour, s.colour2):
                hue = colorsys.rgb_to_hsv(*colour)[0]
                assert min(abs(hue - hue_centre), 1 - abs(hue - hue_centre)) < 0.06
    a = tv.render_appearance_video(4, tv.video_rng(0, 'val', 1, 'appearance'), 32, 3)
    b = tv.render_appearance_video(4, tv.video_rng(0, 'val', 1, 'appearance'), 32, 3)
    assert a.shape == (3, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='appearance'):
        tv.render_appearance_video(len(tv.APPEARANCE_CLASSES), tv.video_rng(0, 'val', 1))


def test_generate_appearance_dataset_lists_appearance_labels(tmp_path):
    pytest.importorskip('decord')
    ann = tv.generate_dataset(str(tmp_path), {'val': 1}, size=32, num_frames=3, seed=0,
                              task='appearance')
    with open(tmp_path / 'label_map.txt') as f:
        assert f.read().split() == list(tv.APPEARANCE_CLASSES)
    with open(ann['val']) as f:
        labels = sorted(int(line.split()[1]) for line in f)
    assert labels == list(range(len(tv.APPEARANCE_CLASSES)))
    with pytest.raises(ValueError, match='task'):
        tv.generate_dataset(str(tmp_path), {'val': 1}, task='colour')
