import math
from typing import Any, Optional, Sequence


class FEEDConfigError(ValueError):
    """A FEED configuration that cannot work, with a message naming the
    offending config key (e.g. ``model.teachers.t1.ckpt``).

    Args:
        key (str): The offending key, as a dotted config path.
        message (str, optional): What is wrong with it.
    """

    def __init__(self, key: str, message: Optional[str] = None) -> None:
        self.key = key
        self.message = message
        super().__init__(key if message is None else f'{key}: {message}')


def loss_weight_value(value: Any, key: str) -> float:
    """``value`` as a loss weight: a finite, non-negative number.

    Raises:
        FEEDConfigError: Naming ``key`` for anything else (booleans, NaN,
            infinity, negative numbers, strings...).
    """
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not 0 <= value < math.inf):
        raise FEEDConfigError(
            key, f'must be a finite non-negative number, got {value!r}')
    return float(value)


class DatasetCheckError(FEEDConfigError):
    """A data set that does not fit the model it feeds (empty, labels out
    of range, images with another number of channels); the key is the data
    set's config key, e.g. ``train_dataloader.dataset``.

    Args:
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        message (str): What is wrong, naming the sample and the expected
            value.
    """

    def __init__(self, split: str, message: str) -> None:
        self.split = split
        super().__init__(f'{split}_dataloader.dataset', message)


class NonFiniteLossError(FloatingPointError):
    """A training loss term is NaN or infinite; raised before the optimizer
    step, so the parameters and the checkpoints written so far are those of
    the last good iteration.

    Args:
        terms (Sequence[str]): The non-finite loss terms, as logged (e.g.
            ``distill.loss_feed_t1``).
        iteration (int, optional): The training iteration, counted from 1
            over the whole run as MMEngine logs it; None outside a runner.
        message (str): The error message.
    """

    def __init__(self, terms: Sequence[str], iteration: Optional[int],
                 message: str) -> None:
        self.terms = list(terms)
        self.iteration = iteration
        super().__init__(message)
