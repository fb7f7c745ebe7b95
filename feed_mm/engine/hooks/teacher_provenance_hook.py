"""The teachers of a FEED run in its checkpoints, and checked on resume."""
import os.path as osp
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from feed_mm.models.algorithms.teacher_provenance import (META_KEY,
                                                        check_teacher_record)

#: The checkpoint ``meta`` key of the config file's name.
CONFIG_KEY = 'feed_config'


def _feed_model(runner) -> Optional[object]:
    """The runner's model if it records teachers (a FEEDDistill)."""
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    return model if hasattr(model, 'teacher_fingerprints') else None


@HOOKS.register_module()
class TeacherProvenanceHook(Hook):
    """Stores a FEED run's teacher fingerprints in every checkpoint it saves
    (``meta['feed_teachers']``, with the config's file name as
    ``meta['feed_config']``), and compares them with the configured
    teachers when a checkpoint is resumed or loaded (``load_from``), before
    its weights are loaded: a teacher file replaced since the checkpoint was
    saved stops the run, or only warns with
    ``model.teacher_mismatch='warn'`` (see
    :func:`~feed_mm.models.algorithms.teacher_provenance.
    check_teacher_record`). Runs of other
    models are left alone.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Record the teachers and the config in ``checkpoint['meta']``."""
        model = _feed_model(runner)
        if model is None:
            return
        meta = checkpoint.setdefault('meta', {})
        meta[META_KEY] = {
            name: None if fingerprint is None else dict(fingerprint)
            for name, fingerprint in model.teacher_fingerprints.items()
        }
        if runner.cfg.filename:
            meta[CONFIG_KEY] = osp.basename(runner.cfg.filename)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Compare the checkpoint's teachers with the configured ones."""
        model = _feed_model(runner)
        if model is not None:
            check_teacher_record(
                (checkpoint.get('meta') or {}).get(META_KEY),
                model.teacher_fingerprints, model.teacher_mismatch)
