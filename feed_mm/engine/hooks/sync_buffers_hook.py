from mmengine.dist import all_reduce_params
from mmengine.hooks import SyncBuffersHook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class FEEDSyncBuffersHook(SyncBuffersHook):
    """MMEngine's :class:`~mmengine.hooks.SyncBuffersHook` (buffers such as
    BN running statistics averaged over ranks after each training epoch, or
    before a validation that no epoch end preceded), leaving out the
    buffers that the model asks DDP to ignore.

    MMEngine's DDP wrapper does not broadcast buffers, so without a sync each
    rank's student keeps the BN statistics of its own batches: validation
    would score a different student on every rank, and the checkpoint would
    hold rank 0's. FEED's frozen teachers are left out: every rank loaded
    the same weights, and averaging them would only cost communication and
    rounding. On one process, and for models that ignore nothing, it does
    what MMEngine's hook does.
    """

    def before_val_epoch(self, runner) -> None:
        if self.distributed:
            if not self.called_in_train:
                self._sync(runner)
            self.called_in_train = False

    def after_train_epoch(self, runner) -> None:
        if self.distributed:
            self._sync(runner)
            self.called_in_train = True

    @staticmethod
    def _sync(runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        ignored = set(getattr(model, '_ddp_params_and_buffers_to_ignore', ()))
        all_reduce_params(
            [buf for name, buf in model.named_buffers() if name not in ignored],
            op='mean')
