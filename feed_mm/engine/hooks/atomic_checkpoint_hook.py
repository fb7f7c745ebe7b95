"""AtomicCheckpointHook: MMEngine's CheckpointHook with saves that a killed
or failed process cannot leave half done."""
import os.path as osp
from typing import Any, List, Optional, Set

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, get_file_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from feed_mm.utils.atomic_io import (ATOMIC_LOCAL_BACKEND, LAST_CHECKPOINT,
                                     atomic_open)


class _RemovalsNoted:
    """A file backend whose ``remove`` and ``rmtree`` only note the path
    (in :attr:`paths`); everything else is the wrapped backend's."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.paths: List[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, filepath: str) -> None:
        self.paths.append(filepath)

    def rmtree(self, dir_path: str) -> None:
        self.paths.append(dir_path)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` whose saves leave, at any moment, only
    complete checkpoints and a ``last_checkpoint`` that names one.

    It differs from ``CheckpointHook`` in three ways:

    - Each checkpoint (best ones included) is written to a part file,
      fsynced and renamed onto its name
      (:func:`feed_mm.utils.atomic_io.atomic_open`): the hook saves through
      the file backend ``feed_mm_atomic_local``
      (:class:`~feed_mm.utils.atomic_io.AtomicLocalBackend`) when the
      checkpoints go to a local directory and neither ``backend_args`` nor
      the deprecated ``file_client_args`` is given; a backend the config
      names is used as it is.
    - ``last_checkpoint`` is written the same way.
    - The checkpoint that ``max_keep_ckpts`` makes outdated, and the
      previous best checkpoint, are removed only once the new checkpoint
      and ``last_checkpoint`` are written (``CheckpointHook`` removes them
      first): a save that fails, e.g. on a full disk, keeps every previous
      checkpoint and the pointer to the latest.

    A process killed between the pointer's write and a removal leaves the
    outdated file behind; no later save removes it. The copies that
    ``published_keys`` makes after training are written as
    ``CheckpointHook`` writes them.

    Args:
        **kwargs: The arguments of ``mmengine.hooks.CheckpointHook``
            (``interval``, ``max_keep_ckpts``, ``save_last``,
            ``save_best``, ``backend_args``...), with the same meanings and
            defaults.
    """

    def before_train(self, runner) -> None:
        """Choose the atomic backend for a local ``out_dir`` that has no
        backend set, then do what ``CheckpointHook`` does.

        Args:
            runner (Runner): The runner of the training process.
        """
        out_dir = runner.work_dir if self.out_dir is None else self.out_dir
        # Only MMEngine's own local backend is replaced: a backend that a
        # config or a plugin chose for these paths stays.
        if (self.backend_args is None and self.file_client_args is None
                and type(get_file_backend(out_dir)) is LocalBackend):
            self.backend_args = dict(backend=ATOMIC_LOCAL_BACKEND)
        super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save the checkpoint of ``step``, write ``last_checkpoint``, then
        remove the checkpoint that falls out of ``max_keep_ckpts``.

        Args:
            runner (Runner): The runner of the training process.
            step (int): The epoch or iteration the checkpoint is named by.
            meta (dict): The checkpoint's meta information.
        """
        outdated = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        # Every rank takes part in the save (model-parallel runs gather
        # their shards there); the pointer and the files are the main
        # process's.
        if not is_main_process():
            return
        with atomic_open(osp.join(runner.work_dir, LAST_CHECKPOINT),
                         'w') as f:
            f.write(self.last_ckpt)
        if outdated is not None:
            self._remove(
                self.file_backend.join_path(
                    self.out_dir, self.filename_tmpl.format(outdated)))

    def _keep(self, runner, step: int) -> Optional[int]:
        """Count ``step`` among the kept checkpoints.

        The list goes to the message hub before the save, so that the new
        checkpoint records it and a resumed run removes the right files.

        Args:
            runner (Runner): The runner of the training process.
            step (int): The step being saved.

        Returns:
            int, optional: The step whose checkpoint is now outdated.
        """
        if self.max_keep_ckpts <= 0:
            return None
        # A new best checkpoint saves the latest step once more.
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return None
        outdated = None
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """``CheckpointHook``'s save of the best checkpoints, with the
        removals it makes (previous best checkpoints, and the outdated one
        of the latest checkpoint's save again) done once everything is
        written.

        Args:
            runner (Runner): The runner of the training process.
            metrics (dict): Evaluation results of all metrics.
        """
        # Nothing to save (as in CheckpointHook); a validation run outside
        # training, whose hook has no backend yet, gets here too.
        if not self.save_best:
            return
        backend = self.file_backend
        noted = _RemovalsNoted(backend)
        self.file_backend = noted
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        # MMEngine removes before it saves, so a new file of the same name
        # survived there; it must here too.
        written = self._written_paths()
        for path in noted.paths:
            if path not in written:
                self._remove(path)

    def _written_paths(self) -> Set[str]:
        """The latest checkpoint and the best ones."""
        paths = {self.last_ckpt}
        if getattr(self, 'best_ckpt_path', None) is not None:
            paths.add(self.best_ckpt_path)
        paths.update(getattr(self, 'best_ckpt_path_dict', {}).values())
        return paths

    def _remove(self, path: str) -> None:
        """Remove a checkpoint file, or folder (DeepSpeed saves folders)."""
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)
