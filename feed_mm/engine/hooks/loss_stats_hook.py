"""Per-epoch means of a run's loss terms, so that their magnitudes can be
read off a finished run instead of estimated."""
from collections import defaultdict
from typing import Any, Dict, List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

#: The checkpoint key of the epochs measured so far (a resumed run keeps
#: them).
CHECKPOINT_KEY = 'loss_stats'


@HOOKS.register_module()
class LossStatsHook(Hook):
    """Keeps, per training epoch, the mean over its iterations of every
    value the training step logs: the total ``loss``, the task loss
    (``student.loss`` under FEED) and each distillation term
    (``distill.loss_feed_t0``, ...). With ``map_grads``, a FEED model also
    reports the norms of the task loss's and of the distillation losses'
    gradients at the student's FEED map (``student.map_grad_norm``,
    ``distill.map_grad_norm``): how hard each pulls on the shared map.
    Measuring them costs two partial backward passes per step (the head's
    and the translators'); the update itself is unchanged.

    The epochs are in :attr:`epochs` and in the checkpoints, so that a
    resumed run has those of the epochs before its interruption.

    Args:
        map_grads (bool): Measure the gradient norms at the student's FEED
            map (FEED models only). Defaults to True.
    """

    priority = 'NORMAL'  # before CheckpointHook saves the epoch

    def __init__(self, map_grads: bool = True) -> None:
        self.map_grads = map_grads
        self.epochs: List[Dict[str, float]] = []
        self._sums: Dict[str, float] = defaultdict(float)
        self._counts: Dict[str, int] = defaultdict(int)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if self.map_grads and hasattr(model, 'probe_map_grads'):
            model.probe_map_grads = True

    def before_train_epoch(self, runner) -> None:
        self._sums.clear()
        self._counts.clear()

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[Dict[str, Any]] = None) -> None:
        for name, value in (outputs or {}).items():
            # The total loss still requires grad: .item() reads it quietly.
            self._sums[name] += value.item() if hasattr(
                value, 'item') else float(value)
            self._counts[name] += 1

    def after_train_epoch(self, runner) -> None:
        means = {name: total / self._counts[name]
                 for name, total in self._sums.items()}
        self.epochs.append(dict(epoch=runner.epoch + 1, **means))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = [dict(epoch) for epoch in self.epochs]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self.epochs = [dict(epoch)
                       for epoch in checkpoint.get(CHECKPOINT_KEY, [])]
