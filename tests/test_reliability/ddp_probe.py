"""A test-only hook that the distributed test loads into each rank through
``custom_imports``: after training, every rank writes down how DDP wraps
the FEED model and saves the weights it ended with."""
import json
import os.path as osp

import torch
import torch.distributed as torch_dist
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DDPProbeHook(Hook):
    """Writes ``rank{r}.json`` (wrapper, backend, names DDP ignores, teacher
    parameter and buffer names, wrappers inside the model, validation
    samples this rank saw) and ``rank{r}.pth`` (the model's state dict, i.e.
    student and translators, and the teachers' state dict) to the work
    dir."""

    def __init__(self) -> None:
        self.val_samples = 0

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self.val_samples += len(outputs)

    def after_train(self, runner) -> None:
        rank, world_size = get_dist_info()
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        teacher_names = [
            f'teachers.{name}' for name, _ in model.teachers.named_parameters()
        ] + [f'teachers.{name}' for name, _ in model.teachers.named_buffers()]
        info = dict(
            rank=rank,
            world_size=world_size,
            backend=torch_dist.get_backend(),
            wrapper=type(runner.model).__name__,
            ignored=sorted(getattr(runner.model, 'parameters_to_ignore', [])),
            teacher_names=teacher_names,
            wrappers_inside=[
                name for name, module in model.named_modules()
                if is_model_wrapper(module)
            ],
            teacher_grads=[
                name for name, param in model.teachers.named_parameters()
                if param.requires_grad or param.grad is not None
            ],
            val_samples=self.val_samples)
        with open(osp.join(runner.work_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(info, f)
        torch.save(
            dict(
                model=model.state_dict(),
                teachers=model.teachers.state_dict()),
            osp.join(runner.work_dir, f'rank{rank}.pth'))
