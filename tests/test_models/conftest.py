import pytest
import torch


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """Tiny models: one intra-op thread is faster and does not fight other
    processes for the cores; the previous setting is restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
