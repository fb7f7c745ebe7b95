from typing import Dict, List, Union

import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, ValLoop, autocast
# Private in mmengine, but the loops' own loss summary; feed_mm pins <0.11.
from mmengine.runner.loops import _parse_losses
from mmrazor.registry import LOOPS
from torch.utils.data import DataLoader

TEACHER_METRIC_PREFIX = 'teacher'


class _TeacherEvaluation:
    """Evaluates every teacher of a FEEDDistill model on a loop's data and
    remembers the result: frozen teachers score the same every epoch, so
    they are evaluated once per run (unless their norm layers train)."""

    def __init__(self) -> None:
        self._cache: Dict[str, Dict[str, float]] = {}

    def __call__(self, runner, dataloader: DataLoader, evaluator: Evaluator,
                 fp16: bool) -> Dict[str, float]:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        teachers = getattr(model, 'teachers', None)
        if teachers is None:
            raise TypeError(
                'FEEDValLoop/FEEDTestLoop evaluate the teachers of a '
                f'FEEDDistill model; {type(model).__name__} has no teachers. '
                'Use ValLoop/TestLoop for a plain model.')
        cacheable = getattr(model, 'teacher_norm_eval', True)
        metrics: Dict[str, float] = {}
        for name, teacher in teachers.items():
            if getattr(teacher, 'with_head', True) is False:
                if name not in self._cache:
                    # A backbone teacher (DINOv2's) classifies nothing.
                    print_log(f'Teacher {name!r} has no classification head: '
                              'no accuracy to report', logger='current')
                    self._cache[name] = {}
                continue
            if not (cacheable and name in self._cache):
                self._cache[name] = self._evaluate(
                    model, name, teacher, dataloader, evaluator, fp16)
            metrics.update(self._cache[name])
        return metrics

    @staticmethod
    @torch.no_grad()
    def _evaluate(model, name: str, teacher: torch.nn.Module,
                  dataloader: DataLoader, evaluator: Evaluator,
                  fp16: bool) -> Dict[str, float]:
        # The student's preprocessor: teachers see what the student sees.
        for data_batch in dataloader:
            with autocast(enabled=fp16):
                data = model.data_preprocessor(data_batch, False)
                outputs = teacher(**data, mode='predict')
            evaluator.process(data_samples=outputs, data_batch=data_batch)
        results = evaluator.evaluate(len(dataloader.dataset))
        return {
            f'{TEACHER_METRIC_PREFIX}.{name}.{key}': value
            for key, value in results.items()
        }


class _FEEDLoopMixin:
    """The run() shared by the val and test loops: the student's metrics,
    then the teachers'."""

    phase: str

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False,
                 evaluate_teachers: bool = True) -> None:
        super().__init__(runner, dataloader, evaluator, fp16)
        self.teacher_evaluation = (
            _TeacherEvaluation() if evaluate_teachers else None)

    def run(self) -> dict:
        """Evaluate the student, then the teachers."""
        losses = getattr(self, f'{self.phase}_loss')
        self.runner.call_hook(f'before_{self.phase}')
        self.runner.call_hook(f'before_{self.phase}_epoch')
        self.runner.model.eval()
        losses.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if losses:
            metrics.update(_parse_losses(losses, self.phase))
        if self.teacher_evaluation is not None:
            metrics.update(
                self.teacher_evaluation(self.runner, self.dataloader,
                                        self.evaluator, self.fp16))
        self.runner.call_hook(f'after_{self.phase}_epoch', metrics=metrics)
        self.runner.call_hook(f'after_{self.phase}')
        return metrics


@LOOPS.register_module()
class FEEDValLoop(_FEEDLoopMixin, ValLoop):
    """Validation loop of FEED: the student's metrics (unprefixed, so
    ``save_best`` and schedulers use them) plus each teacher's, logged as
    ``teacher.{name}.{metric}`` so the log shows whether the student passed
    its teachers. Teachers are evaluated once and their metrics reused.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The validation dataloader.
        evaluator (Evaluator | dict | list): The evaluator.
        fp16 (bool): Validate under fp16 autocast. Defaults to False.
        evaluate_teachers (bool): Also evaluate the teachers. Defaults to
            True.
    """

    phase = 'val'


@LOOPS.register_module()
class FEEDTestLoop(_FEEDLoopMixin, TestLoop):
    """Test loop of FEED: the student's metrics plus each teacher's
    (``teacher.{name}.{metric}``).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader.
        evaluator (Evaluator | dict | list): The evaluator.
        fp16 (bool): Test under fp16 autocast. Defaults to False.
        evaluate_teachers (bool): Also evaluate the teachers. Defaults to
            True.
    """

    phase = 'test'
