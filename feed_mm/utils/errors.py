from typing import Optional


class FEEDConfigError(ValueError):
    """A FEED configuration that cannot work, with a message naming the
    offending config key (e.g. ``model.teachers.t1.ckpt``).

    Args:
        key (str): The offending key, as a dotted config path.
        message (str, optional): What is wrong with it.
    """

    def __init__(self, key: str, message: Optional[str] = None) -> None:
        self.key = key
        super().__init__(key if message is None else f'{key}: {message}')
