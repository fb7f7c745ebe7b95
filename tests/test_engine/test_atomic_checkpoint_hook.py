"""AtomicCheckpointHook: what the configs turn on, and the order of its
writes and removals (the atomic writes themselves and a failed save through
the runner are in tests/test_utils/test_atomic_io.py)."""
import os
import os.path as osp

from mmengine.config import Config
from mmengine.fileio import LocalBackend, join_path
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import save_checkpoint

from feed_mm.engine import AtomicCheckpointHook
from feed_mm.utils import ATOMIC_LOCAL_BACKEND, AtomicLocalBackend, safe_load
from tests.helpers import REPO, parse_cfg_options


class FakeRunner:
    """What CheckpointHook uses of a runner; checkpoints are saved as the
    runner saves them (MMEngine's ``save_checkpoint``, the hook's backend
    arguments), holding the meta and the message hub's state only."""

    def __init__(self, work_dir: str, max_epochs: int = 5) -> None:
        self.work_dir = work_dir
        self.epoch = 0
        self.iter = 0
        self.max_epochs = max_epochs
        self.message_hub = MessageHub(f'atomic_hook_{id(self)}')
        self.logger = MMLogger.get_current_instance()

    def save_checkpoint(self,
                        out_dir,
                        filename,
                        file_client_args=None,
                        save_optimizer=True,
                        save_param_scheduler=True,
                        meta=None,
                        by_epoch=True,
                        backend_args=None) -> None:
        checkpoint = dict(meta=meta, message_hub=self.message_hub.state_dict())
        path = join_path(out_dir, filename, backend_args=backend_args)
        save_checkpoint(checkpoint, path, backend_args=backend_args)

    def train_epoch(self, hook, metrics=None) -> None:
        """The hook's calls of one epoch, and of its validation with
        ``metrics`` if given (after the runner counted the epoch)."""
        hook.after_train_epoch(self)
        self.epoch += 1
        self.iter += 4
        if metrics is not None:
            hook.after_val_epoch(self, metrics)


def _record_renames_and_removals(monkeypatch) -> list:
    """('replace', target) and ('remove', file) names from now on."""
    events = []
    real_replace, real_remove = os.replace, os.remove

    def replace(src, dst):
        events.append(('replace', osp.basename(dst)))
        real_replace(src, dst)

    def remove(path):
        events.append(('remove', osp.basename(path)))
        real_remove(path)

    monkeypatch.setattr(os, 'replace', replace)
    monkeypatch.setattr(os, 'remove', remove)
    return events


def test_the_default_runtime_turns_it_on_with_user_overrides():
    cfg = Config.fromfile(osp.join(REPO, 'configs/_base_/default_runtime.py'))
    cfg.merge_from_dict(
        parse_cfg_options(['default_hooks.checkpoint.interval=3']))
    hook = HOOKS.build(cfg.default_hooks.checkpoint)
    assert type(hook) is AtomicCheckpointHook
    assert (hook.interval, hook.max_keep_ckpts, hook.save_last) == (3, 2,
                                                                    True)


def test_it_saves_through_the_atomic_backend_unless_one_is_given(tmp_path):
    hook = AtomicCheckpointHook(interval=1)
    hook.before_train(FakeRunner(str(tmp_path)))
    assert hook.backend_args == dict(backend=ATOMIC_LOCAL_BACKEND)
    assert type(hook.file_backend) is AtomicLocalBackend

    chosen = AtomicCheckpointHook(interval=1, backend_args=dict(
        backend='local'))
    chosen.before_train(FakeRunner(str(tmp_path)))
    assert chosen.backend_args == dict(backend='local')
    assert type(chosen.file_backend) is LocalBackend


def test_the_outdated_checkpoint_goes_after_the_new_one_and_pointer(
        tmp_path, monkeypatch):
    runner = FakeRunner(str(tmp_path))
    hook = AtomicCheckpointHook(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    runner.train_epoch(hook)
    events = _record_renames_and_removals(monkeypatch)
    runner.train_epoch(hook)
    assert events == [('replace', 'epoch_2.pth'),
                      ('replace', 'last_checkpoint'),
                      ('remove', 'epoch_1.pth')]
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'last_checkpoint']
    # The new checkpoint lists what is kept after its save, for a resume.
    hub = safe_load(str(tmp_path / 'epoch_2.pth'))['message_hub']
    assert hub['runtime_info']['keep_ckpt_ids'] == [2]


def test_the_previous_best_goes_after_everything_is_written(
        tmp_path, monkeypatch):
    runner = FakeRunner(str(tmp_path))
    hook = AtomicCheckpointHook(
        interval=1, max_keep_ckpts=2, save_best='acc', rule='greater')
    hook.before_train(runner)
    runner.train_epoch(hook, dict(acc=0.5))
    events = _record_renames_and_removals(monkeypatch)
    runner.train_epoch(hook, dict(acc=0.7))
    # The epoch's checkpoint, the best one, the epoch's again (holding the
    # new best) and only then the removal of the previous best.
    assert events == [('replace', 'epoch_2.pth'),
                      ('replace', 'last_checkpoint'),
                      ('replace', 'best_acc_epoch_2.pth'),
                      ('replace', 'epoch_2.pth'),
                      ('replace', 'last_checkpoint'),
                      ('remove', 'best_acc_epoch_1.pth')]
    assert sorted(os.listdir(tmp_path)) == [
        'best_acc_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
        'last_checkpoint'
    ]
