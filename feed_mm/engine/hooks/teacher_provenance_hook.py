"""The teachers of a FEED run in its checkpoints, and checked on resume."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from feed_mm.engine.teacher_provenance import (META_KEY, check_mismatch_mode,
                                               check_teacher_record,
                                               teacher_fingerprints)

#: The checkpoint ``meta`` key of the config file's name.
CONFIG_KEY = 'feed_config'


@HOOKS.register_module()
class TeacherProvenanceHook(Hook):
    """Stores a FEED run's teacher fingerprints (path, size, sha256 of each
    teacher checkpoint) in every checkpoint it saves
    (``meta['feed_teachers']``, with the config's file name as
    ``meta['feed_config']``), and compares them with the configured teachers
    when a checkpoint is resumed or loaded, before its weights are loaded:
    a teacher file replaced since then stops the run (``'error'``) or is
    only reported (``'warn'``). Runs of other models are left alone.

    Args:
        mismatch (str): ``'error'`` or ``'warn'``. Defaults to ``'error'``.
    """

    priority = 'VERY_HIGH'

    def __init__(self, mismatch: str = 'error') -> None:
        self.mismatch = check_mismatch_mode(mismatch)
        self._fingerprints = None

    def before_run(self, runner) -> None:
        """Fingerprint the teacher files the run loaded, once: a file
        replaced during the run does not change what its checkpoints
        record."""
        ckpts = _teacher_ckpts(runner)
        self._fingerprints = None if ckpts is None else \
            teacher_fingerprints(ckpts)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the teachers and the config in ``checkpoint['meta']``."""
        if self._fingerprints is None:
            return
        meta = checkpoint.setdefault('meta', {})
        meta[META_KEY] = self._fingerprints
        if runner.cfg.filename:
            meta[CONFIG_KEY] = osp.basename(runner.cfg.filename)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint's teachers with the configured ones."""
        ckpts = _teacher_ckpts(runner)
        if ckpts is not None:
            check_teacher_record(
                (checkpoint.get('meta') or {}).get(META_KEY),
                self._fingerprints or teacher_fingerprints(ckpts),
                self.mismatch)


def _teacher_ckpts(runner) -> Optional[dict]:
    """The runner's model's teacher checkpoints (a FEEDDistill's), or
    None."""
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return getattr(model, 'teacher_ckpts', None)
