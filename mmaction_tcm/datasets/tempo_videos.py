"""Synthetic "tempo" videos: classes that differ only in how things move.

Every video shows a textured background, one or two textured *actors* and a few static
*distractors* drawn the same way as the actors. Appearance (shapes, colours, stripe
textures, sizes, background, noise, brightness flicker, positions) is drawn independently
of the class; the class only decides the motion:

* ``slide_{left,right,up,down}_{slow,fast}``: one actor slides in a direction, covering a
  short (slow) or long (fast) distance over the same duration -- the same motion at two
  tempos.
* ``approach`` / ``recede``: two actors move towards / away from each other along a
  random axis (each is the time reversal of the other, so the two classes have exactly
  the same distribution of single frames).
* ``pass`` / ``bounce``: two actors meet in the middle and either pass each other or turn
  back. Both classes trace the *same* positions; only which actor ends where differs, so
  the class can only be read by following each actor's appearance through time.

A single frame therefore carries no information about the label. Every object (actor or
distractor) has an *appearance class*: one of ``SHAPES`` x ``PALETTES`` (``APPEARANCE_CLASSES``),
drawn uniformly and independently of the motion class; the appearance-pretraining set
(``tempo_appearance``) labels frames of the same world by that class instead.
Everything is deterministic given the seed: video ``i`` of split ``s`` is drawn from its own
``numpy.random.default_rng((seed, s, i))`` (``video_rng``).
"""
import math
import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..ops.validation import check_int

CLASSES: Tuple[str, ...] = (
    'slide_left_slow', 'slide_left_fast', 'slide_right_slow', 'slide_right_fast',
    'slide_up_slow', 'slide_up_fast', 'slide_down_slow', 'slide_down_fast',
    'approach', 'recede', 'pass', 'bounce')

SPLITS: Tuple[str, ...] = ('train', 'val', 'test')

_DIRECTIONS = {'left': (-1.0, 0.0), 'right': (1.0, 0.0), 'up': (0.0, -1.0), 'down': (0.0, 1.0)}
# Distance covered over the whole video, as a fraction of the frame size.
_TRAVEL = {'slow': (0.18, 0.28), 'fast': (0.50, 0.62)}
SHAPES: Tuple[str, ...] = ('circle', 'square', 'diamond', 'ring')
# Hue families (HSV hue centre in [0, 1)); each object's two stripe colours are drawn from one.
PALETTES: Dict[str, float] = {'red': 0.0, 'green': 0.33, 'blue': 0.62}
APPEARANCE_CLASSES: Tuple[str, ...] = tuple(f'{shape}_{palette}' for shape in SHAPES
                                            for palette in PALETTES)


def _smooth_texture(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """A smooth random RGB field ``(size, size, 3)`` in [0, 1]."""
    import cv2
    grid = rng.random((cells, cells, 3)).astype(np.float32)
    return np.clip(cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC), 0, 1)


def _palette_colour(rng: np.random.Generator, palette: str, value: Tuple[float, float]
                    ) -> np.ndarray:
    """An RGB colour in [0, 1] of hue family ``palette`` with HSV value in ``value``."""
    import colorsys
    hue = (PALETTES[palette] + rng.uniform(-0.05, 0.05)) % 1.0
    return np.array(colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(*value)),
                    np.float32)


class _Sprite:
    """A striped shape with anti-aliased edges; ``draw`` composites it at a centre.

    Its appearance class ``APPEARANCE_CLASSES[appearance]`` fixes the shape and the hue
    family; size, exact colours and stripes vary. ``appearance=None`` draws the class
    uniformly from ``rng``.
    """

    def __init__(self, rng: np.random.Generator, size: int, appearance: Optional[int] = None):
        if appearance is None:
            appearance = int(rng.integers(len(APPEARANCE_CLASSES)))
        self.appearance = appearance
        self.shape = SHAPES[appearance // len(PALETTES)]
        palette = list(PALETTES)[appearance % len(PALETTES)]
        self.radius = float(rng.uniform(0.10, 0.15) * size)
        self.colour = _palette_colour(rng, palette, (0.75, 1.0))
        self.colour2 = _palette_colour(rng, palette, (0.3, 0.55))
        self.stripe_angle = float(rng.uniform(0, math.pi))
        self.stripe_freq = float(rng.uniform(0.5, 1.2)) * 64 / size  # radians per pixel

    def draw(self, canvas: np.ndarray, yy: np.ndarray, xx: np.ndarray, cx: float,
             cy: float) -> None:
        # only the pixels the shape can cover (the diamond reaches (radius + 0.5) / 0.8)
        half = 1.25 * self.radius + 2
        h, w = canvas.shape[:2]
        y0, y1 = max(0, int(cy - half)), min(h, int(cy + half) + 2)
        x0, x1 = max(0, int(cx - half)), min(w, int(cx + half) + 2)
        if y0 >= y1 or x0 >= x1:
            return
        canvas, yy, xx = canvas[y0:y1, x0:x1], yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
        dx, dy = xx - cx, yy - cy
        if self.shape == 'circle':
            dist = np.sqrt(dx * dx + dy * dy)
        elif self.shape == 'square':
            dist = np.maximum(np.abs(dx), np.abs(dy)) * 1.1
        elif self.shape == 'diamond':
            dist = (np.abs(dx) + np.abs(dy)) * 0.8
        else:  # ring: a disc with a hole
            dist = np.sqrt(dx * dx + dy * dy)
            dist = np.maximum(dist, 0.9 * self.radius - (dist - 0.45 * self.radius))
        alpha = np.clip(self.radius - dist + 0.5, 0.0, 1.0)[..., None]
        phase = dx * math.cos(self.stripe_angle) + dy * math.sin(self.stripe_angle)
        mix = (0.5 + 0.5 * np.sin(phase * self.stripe_freq))[..., None]
        texture = self.colour * mix + self.colour2 * (1 - mix)
        canvas *= 1 - alpha
        canvas += alpha * texture


def _trajectories(label: str, rng: np.random.Generator, size: int,
                  s: np.ndarray, radii: Sequence[float]) -> List[np.ndarray]:
    """Actor centres ``(len(s), 2)`` (x, y) over normalised time ``s`` in [0, 1]."""
    margin = max(radii) + 2.0
    if label.startswith('slide_'):
        _, direction, tempo = label.split('_')
        ux, uy = _DIRECTIONS[direction]
        travel = rng.uniform(*_TRAVEL[tempo]) * size
        lo, hi = margin + travel / 2, size - margin - travel / 2
        mid = rng.uniform(lo, hi, size=2) if lo < hi else np.full(2, size / 2)
        mid[0 if ux == 0 else 1] = rng.uniform(margin, size - margin)  # across the motion
        offset = (s - 0.5)[:, None] * travel * np.array([ux, uy])
        return [mid + offset]
    # two actors on a random axis through a random midpoint
    angle = rng.uniform(0, 2 * math.pi)
    axis = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-axis[1], axis[0]])
    if label in ('approach', 'recede'):
        far = rng.uniform(0.55, 0.7) * size
        near = radii[0] + radii[1] + 1.0
        progress = s if label == 'approach' else 1 - s
        half = ((1 - progress) * far + progress * near) / 2
        lateral = np.zeros_like(s)
    elif label in ('pass', 'bounce'):
        far = rng.uniform(0.55, 0.7) * size
        meet = rng.uniform(0.4, 0.6)
        # signed half separation: +far/2 at the start, 0 at the meeting, -far/2 past it
        half = far / 2 * np.where(s < meet, 1 - s / meet, -(s - meet) / (1 - meet))
        if label == 'bounce':
            half = np.abs(half)
        # Head-on (they overlap when they meet): every frame of `pass` has the same
        # positions as the `bounce` frame at the same time, only the actors are swapped.
        lateral = np.zeros_like(s)
    else:
        raise ValueError(f'label must be one of {CLASSES}, got {label!r}')
    extent = np.abs(half).max() * np.abs(axis) + np.abs(lateral).max() * np.abs(normal)
    mid = np.array([rng.uniform(margin + e, size - margin - e) if margin + e < size - margin - e
                    else size / 2 for e in extent])
    a = mid + half[:, None] * axis + lateral[:, None] / 2 * normal
    b = mid - half[:, None] * axis - lateral[:, None] / 2 * normal
    return [a, b]


def _check_render_args(size: int, num_frames: int) -> None:
    if size < 32:
        raise ValueError(f'size must be >= 32 pixels, got {size}')
    if num_frames < 2:
        raise ValueError(f'num_frames must be >= 2, got {num_frames}')


def sample_scene(label: int, rng: np.random.Generator, size: int = 64, num_frames: int = 32,
                 appearance: Optional[int] = None) -> dict:
    """Draw everything a video of motion class ``CLASSES[label]`` shows, without rendering.

    Args:
        appearance: appearance class of every object in the scene, or ``None`` (the motion
            data): each object's class is drawn uniformly, independently of ``label``.

    Returns:
        dict with ``background (size, size, 3)``, ``distractors`` / ``distractor_pos``,
        ``actors`` / ``paths`` (``(num_frames, 2)`` x, y centres), ``noise_std`` and
        ``flicker (num_frames,)``.
    """
    if not (isinstance(label, (int, np.integer)) and 0 <= label < len(CLASSES)):
        raise ValueError(f'label must be an int in [0, {len(CLASSES)}), got {label!r}')
    _check_render_args(size, num_frames)
    name = CLASSES[label]
    # background: smooth colour field plus fine static grain, randomly contrasted
    background = 0.8 * _smooth_texture(rng, size, int(rng.integers(3, 7)))
    background += 0.2 * _smooth_texture(rng, size, size // 4) * rng.uniform(0.3, 1.0)
    distractors = [_Sprite(rng, size, appearance) for _ in range(int(rng.integers(0, 3)))]
    distractor_pos = [rng.uniform(0.1 * size, 0.9 * size, size=2) for _ in distractors]
    num_actors = 1 if name.startswith('slide_') else 2
    actors = [_Sprite(rng, size, appearance) for _ in range(num_actors)]
    s = np.linspace(0.0, 1.0, num_frames)
    paths = _trajectories(name, rng, size, s, [a.radius for a in actors])
    noise_std = rng.uniform(0.0, 0.03)
    flicker = 1 + rng.uniform(0.0, 0.12) * np.sin(
        2 * math.pi * (rng.uniform(0.5, 3.0) * s + rng.random()))
    return dict(background=background, distractors=distractors,
                distractor_pos=distractor_pos, actors=actors, paths=paths,
                noise_std=noise_std, flicker=flicker)


def render_scene(scene: dict, rng: np.random.Generator) -> np.ndarray:
    """Render a ``sample_scene`` result (``rng`` draws the pixel noise).

    Returns:
        ``uint8`` RGB frames ``(num_frames, size, size, 3)``.
    """
    background = scene['background']
    size, num_frames = background.shape[0], len(scene['flicker'])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    for t in range(num_frames):
        canvas = background.copy()
        for sprite, (x, y) in zip(scene['distractors'], scene['distractor_pos']):
            sprite.draw(canvas, yy, xx, x, y)
        for sprite, path in zip(scene['actors'], scene['paths']):
            sprite.draw(canvas, yy, xx, path[t, 0], path[t, 1])
        canvas = canvas * scene['flicker'][t] + scene['noise_std'] * rng.standard_normal(
            canvas.shape, dtype=np.float32)
        frames[t] = np.clip(canvas * 255 + 0.5, 0, 255).astype(np.uint8)
    return frames


def render_video(label: int, rng: np.random.Generator, size: int = 64,
                 num_frames: int = 32) -> np.ndarray:
    """Draw one video of motion class ``CLASSES[label]``.

    Returns:
        ``uint8`` RGB frames ``(num_frames, size, size, 3)``.
    """
    return render_scene(sample_scene(label, rng, size, num_frames), rng)


def render_appearance_video(appearance: int, rng: np.random.Generator, size: int = 64,
                            num_frames: int = 8) -> np.ndarray:
    """A video of the same world labelled by appearance: every object has appearance class
    ``APPEARANCE_CLASSES[appearance]``; the motion class is drawn uniformly from ``rng``,
    independently of it.

    Returns:
        ``uint8`` RGB frames ``(num_frames, size, size, 3)``.
    """
    if not (isinstance(appearance, (int, np.integer))
            and 0 <= appearance < len(APPEARANCE_CLASSES)):
        raise ValueError(f'appearance must be an int in [0, {len(APPEARANCE_CLASSES)}), got '
                         f'{appearance!r}')
    motion = int(rng.integers(len(CLASSES)))
    return render_scene(sample_scene(motion, rng, size, num_frames, int(appearance)), rng)


# task -> (class names, renderer(label, rng, size, num_frames), random-stream tag)
TASKS = {'motion': (CLASSES, render_video, ()),
         'appearance': (APPEARANCE_CLASSES, render_appearance_video, (1, ))}


def video_rng(seed: int, split: str, index: int, task: str = 'motion') -> np.random.Generator:
    """The random stream of video ``index`` of ``split`` (independent of other videos and
    of the other task's videos)."""
    return np.random.default_rng((int(seed), SPLITS.index(split), int(index)) + TASKS[task][2])


def split_labels(split: str, per_class: int, seed: int, task: str = 'motion') -> np.ndarray:
    """Balanced labels of one split (``per_class`` of each class), in a seeded order."""
    labels = np.repeat(np.arange(len(TASKS[task][0])), per_class)
    np.random.default_rng((int(seed), SPLITS.index(split), -1 % 2**32) + TASKS[task][2]
                          ).shuffle(labels)
    return labels


def _write_one(job: tuple) -> str:
    """Render and write one video; ``job = (out_dir, rel, label, seed, split, i, size,
    num_frames, fps, task)``. Top-level so that a process pool can run it."""
    from ..utils import write_mp4
    out_dir, rel, label, seed, split, i, size, num_frames, fps, task = job
    frames = TASKS[task][1](label, video_rng(seed, split, i, task), size, num_frames)
    write_mp4(os.path.join(out_dir, rel), list(frames), fps)
    return rel


def generate_dataset(out_dir: str, per_class: Dict[str, int], size: int = 64,
                     num_frames: int = 32, seed: int = 0, fps: float = 16.0,
                     workers: int = 1,
                     progress: Optional[Callable[[str, int, int], None]] = None,
                     task: str = 'motion') -> Dict[str, str]:
    """Write the videos and MMAction2 ``VideoDataset`` annotation lists.

    Layout: ``out_dir/videos/{split}/{split}_{i:05d}.mp4``, ``out_dir/{split}_list.txt``
    (lines ``videos/{split}/... label``, relative to ``out_dir``) and
    ``out_dir/label_map.txt`` (one class name per line, in label order). The result does
    not depend on ``workers``: every video has its own random stream.

    Args:
        per_class: videos per class for each split, e.g. ``{'train': 80, 'test': 30}``.
        workers: processes rendering and encoding videos in parallel.
        progress: optional ``progress(split, done, total)`` callback.
        task: ``'motion'`` (labels ``CLASSES``) or ``'appearance'`` (labels
            ``APPEARANCE_CLASSES``, ``render_appearance_video``).

    Returns:
        ``{split: annotation_file_path}``.
    """
    if task not in TASKS:
        raise ValueError(f'task must be one of {tuple(TASKS)}, got {task!r}')
    classes = TASKS[task][0]
    for split, n in per_class.items():
        if split not in SPLITS:
            raise ValueError(f'per_class keys must be among {SPLITS}, got {split!r}')
        check_int(f'per_class[{split!r}]', int(n) if isinstance(n, np.integer) else n, minimum=1)
    check_int('workers', workers, minimum=1)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'label_map.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    pool = None
    if workers > 1:
        import multiprocessing
        pool = multiprocessing.get_context('fork').Pool(workers)
    ann_files = {}
    try:
        for split, n in per_class.items():
            labels = split_labels(split, n, seed, task)
            jobs = [(out_dir, f'videos/{split}/{split}_{i:05d}.mp4', int(label), seed, split,
                     i, size, num_frames, fps, task) for i, label in enumerate(labels)]
            results = pool.imap(_write_one, jobs) if pool else map(_write_one, jobs)
            for done, _ in enumerate(results, 1):
                if progress is not None:
                    progress(split, done, len(jobs))
            ann = os.path.join(out_dir, f'{split}_list.txt')
            with open(ann, 'w') as f:
                f.write(''.join(f'{job[1]} {job[2]}\n' for job in jobs))
            ann_files[split] = ann
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return ann_files
