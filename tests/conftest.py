import pytest

from tests.helpers import train_in_process


@pytest.fixture(scope='session')
def digits_teachers(tmp_path_factory):
    """Two ResNet-20 teachers trained by the runner (tiny schedule)."""
    root = tmp_path_factory.mktemp('teachers')
    return [
        train_in_process(f'configs/teachers/digits_resnet20_s{seed}.py',
                         str(root / f's{seed}')) for seed in (0, 1)
    ]
