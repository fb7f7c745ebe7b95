"""Test-only hooks that inject faults into a training run; the fault tests
load them into the training process through ``custom_imports``."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SlowCheckpointHook(Hook):
    """Pads every checkpoint with ``megabytes`` of zeros, so that writing it
    takes long enough for a test to kill the run meanwhile.

    Args:
        megabytes (int): Size of the padding.
    """

    def __init__(self, megabytes: int = 128) -> None:
        self.megabytes = megabytes

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['padding'] = torch.zeros(self.megabytes * 2**18)


@HOOKS.register_module()
class PoisonTeacherHook(Hook):
    """Fills a teacher's weights with NaN before a training iteration, so
    that the FEED loss term of that teacher is NaN from there on.

    Args:
        teacher (str): The teacher's name.
        at_iter (int): The number of iterations done when it strikes.
    """

    def __init__(self, teacher: str = 't1', at_iter: int = 0) -> None:
        self.teacher = teacher
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter != self.at_iter:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        with torch.no_grad():
            for param in model.teachers[self.teacher].parameters():
                param.fill_(float('nan'))


@HOOKS.register_module()
class InterruptAfterEpochHook(Hook):
    """Stops a run with an error once ``epoch`` epochs are done and
    checkpointed, as a kill between two epochs would.

    Args:
        epoch (int): The number of epochs done when it strikes.
    """

    priority = 'LOWEST'  # after the checkpoint hook has saved the epoch

    def __init__(self, epoch: int = 1) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch == self.epoch:
            raise RuntimeError(f'interrupted after epoch {self.epoch}')
