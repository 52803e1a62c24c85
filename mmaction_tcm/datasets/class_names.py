"""Something-Something class names in MMAction2's numbering and in the release's.

MMAction2's ``tools/data/sthv1`` numbers the 174 Sth-V1 classes in the order of 20BN's
``something-something-v1-labels.csv``; the released TCM (TSM's ``gen_label_sthv1.py``)
numbers the sorted names. For Sth-V2 both use the indices of 20BN's labels JSON, which are
the sorted names, so the two numberings agree. The files in ``label_maps/`` are MMAction2's
label maps (line ``i`` = class ``i``).
"""
import os
from typing import List, Optional, Sequence

DATASETS = ('sthv1', 'sthv2')
NUM_CLASSES = 174
LABEL_MAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'label_maps')


def check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f'dataset must be one of {DATASETS}, got {dataset!r}')
    return dataset


def label_map_path(dataset: str) -> str:
    """Path of the shipped MMAction2 label map of ``dataset`` ('sthv1' or 'sthv2')."""
    return os.path.join(LABEL_MAP_DIR, f'{check_dataset(dataset)}_mmaction2.txt')


def read_label_map(path: str, dataset: Optional[str] = None) -> List[str]:
    """One class name per line -> list of names (line ``i`` = class ``i``).

    Trailing blank lines are ignored; a blank line between names, a repeated name, or (with
    ``dataset``) a count other than 174 or a name set other than that dataset's raises
    ``ValueError`` naming the file and the offending names.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'label map not found: {path!r}')
    with open(path, encoding='utf-8') as f:
        lines = [line.rstrip('\r\n').strip() for line in f]
    while lines and not lines[-1]:
        lines.pop()
    blank = [i + 1 for i, name in enumerate(lines) if not name]
    if blank:
        raise ValueError(f'label map {path}: lines {blank[:5]} have no class name '
                         '(expected one class name per line)')
    seen, duplicates = set(), []
    for name in lines:
        if name in seen and name not in duplicates:
            duplicates.append(name)
        seen.add(name)
    if duplicates:
        raise ValueError(f'label map {path}: duplicate class names {duplicates[:3]}')
    if dataset is not None:
        check_same_classes(lines, mmaction2_class_names(dataset), f'label map {path}',
                           dataset)
    return lines


def check_same_classes(names: Sequence[str], expected: Sequence[str], what: str,
                       dataset: str) -> None:
    """``ValueError`` unless ``names`` holds exactly the class names in ``expected``."""
    have, want = set(names), set(expected)
    missing = [n for n in expected if n not in have]
    unknown = [n for n in names if n not in want]
    if missing or unknown or len(names) != len(expected):
        raise ValueError(
            f'{what} has {len(names)} names, {dataset} has {len(expected)}: '
            f'missing {len(missing)} {missing[:3]}, unknown {len(unknown)} {unknown[:3]}')


def mmaction2_class_names(dataset: str) -> List[str]:
    """The 174 names in MMAction2's numbering (the shipped label map)."""
    with open(label_map_path(dataset), encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def release_class_names(dataset: str) -> List[str]:
    """The 174 names in the release's numbering: sorted (Sth-V1) or the JSON's (Sth-V2)."""
    names = mmaction2_class_names(dataset)
    return sorted(names) if check_dataset(dataset) == 'sthv1' else names


def release_rows(names: Sequence[str], dataset: str) -> List[int]:
    """``rows[i]`` = the release's class index of ``names[i]``."""
    release = {name: i for i, name in enumerate(release_class_names(dataset))}
    check_same_classes(names, list(release), 'the class list', dataset)
    return [release[name] for name in names]
