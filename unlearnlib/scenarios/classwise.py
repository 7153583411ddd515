"""Class-wise forgetting: every training image of one class."""
from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from typing import Any

from ..constraints import InstanceOf, Interval
from ..data import DatasetInfo, ImageDataset
from .common import ForgetSplit, split_train
from .registry import register_scenario


def _known_class(info: DatasetInfo, values: Mapping[str, Any]) -> list[str]:
    """A class name or index the dataset has, from its table entry (no image is read)."""
    label, names = values.get("label"), info.class_names
    if isinstance(label, str) and label not in names:
        return [f"scenario 'class': label={label!r} is not a class of {info.name}; its classes are {list(names)}"]
    if isinstance(label, int) and not isinstance(label, bool) and not 0 <= label < len(names):
        return [f"scenario 'class': label={label!r} is not a class of {info.name}; labels are 0..{len(names) - 1} ({list(names)})"]
    return []


@register_scenario(
    "class",
    params={"label": (Interval(Integral, 0, None, closed="left"), InstanceOf(str, "a class name"))},
    dataset_check=_known_class,
)
def class_wise(dataset: ImageDataset, *, label: int | str, seed: int) -> ForgetSplit:
    """Every training image of one class (``label`` is its index or name).

    ``seed`` is unused (nothing is random) but kept so every scenario has one signature.
    """
    if isinstance(label, str):
        if label not in dataset.class_names:
            raise ValueError(f"unknown class {label!r}; classes are {list(dataset.class_names)}")
        c = dataset.class_names.index(label)
    elif 0 <= int(label) < dataset.num_classes and int(label) == label:
        c = int(label)
    else:
        raise ValueError(
            f"unknown class {label!r}; labels are 0..{dataset.num_classes - 1} ({list(dataset.class_names)})"
        )
    train = dataset.split_indices("train")
    forget = train[dataset.labels[train] == c]
    name = dataset.class_names[c]
    if not len(forget):
        raise ValueError(f"class {name!r} has no training images to forget")
    if len(forget) == len(train):
        raise ValueError(f"class {name!r} is all {len(train)} training images; forgetting it leaves no retain set")
    description = f"class-wise: all {len(forget)} training images of {name!r} ({len(forget)} of {len(train)})"
    return split_train(train, forget, description)

