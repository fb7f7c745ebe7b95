"""Export the student of a FEED (or MMRazor) distillation checkpoint as a
plain mmpretrain checkpoint: no translator, no teacher, no optimizer."""
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Mapping

import torch

from feed_mm.utils.checkpoint import load_checkpoint

STUDENT_PREFIX = 'architecture.'
# What the student's provenance keeps of the training checkpoint's meta:
# the teachers' fingerprints and the FEED config's name
# (feed_mm.engine.TeacherProvenanceHook) beside MMEngine's own keys.
PROVENANCE_KEYS = ('dataset_meta', 'mmengine_version', 'epoch', 'iter',
                   'feed_teachers', 'feed_config', 'experiment_name')


def student_state_dict(state_dict: Mapping[str, Any]) -> 'OrderedDict':
    """The student's weights in a distillation state dict, with the
    ``architecture.`` prefix removed.

    Args:
        state_dict (Mapping): A FEEDDistill (or MMRazor algorithm) state
            dict.

    Returns:
        OrderedDict: Weights that load into the plain student model.
    """
    student = OrderedDict((key[len(STUDENT_PREFIX):], value)
                          for key, value in state_dict.items()
                          if key.startswith(STUDENT_PREFIX))
    if not student:
        raise KeyError(
            f'no {STUDENT_PREFIX!r} keys: this is not a distillation '
            'checkpoint (a plain model checkpoint needs no export)')
    return student


def export_student(checkpoint: str, out_file: str) -> Dict[str, Any]:
    """Write a student-only checkpoint that loads with ``strict=True`` into
    the student's plain mmpretrain config and works with
    ``mmpretrain.apis`` inference.

    Args:
        checkpoint (str): A FEED training checkpoint.
        out_file (str): Where to write the student checkpoint.

    Returns:
        dict: What was written: ``state_dict`` and ``meta``, which holds
        the source checkpoint (``exported_from``, absolute path), the
        teachers' fingerprints (``feed_teachers``) and the config's name
        (``feed_config``) when the source recorded them, and MMEngine's
        dataset meta, version, epoch and iteration.
    """
    source = load_checkpoint(checkpoint, map_location='cpu')
    try:
        state = student_state_dict(source.get('state_dict', source))
    except KeyError as err:
        raise KeyError(f'{checkpoint}: {err.args[0]}') from err
    source_meta = source.get('meta') or {}
    meta = {
        key: source_meta[key]
        for key in PROVENANCE_KEYS if key in source_meta
    }
    meta['exported_from'] = osp.abspath(checkpoint)
    exported = {'state_dict': state, 'meta': meta}
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    # Written beside the target and renamed, so an interrupted export never
    # leaves a half-written file under the final name.
    tmp_file = f'{out_file}.tmp'
    torch.save(exported, tmp_file)
    os.replace(tmp_file, out_file)
    return exported
