"""Models and their weights as the OpenMMLab ecosystem names them: an
MMPretrain model name or a ``package::`` config (with its released weights,
from MMPretrain's model index and metafiles), and weights from a checkpoint
file, a training work dir or a URL, unwrapped from distillation and DDP
checkpoints and loaded strictly, with errors that name the config key."""
import difflib
import os.path as osp
import re
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

import torch.nn as nn
from .checkpoint import DownloadError, load_checkpoint
from .errors import FEEDConfigError


def _model_names() -> list:
    """MMPretrain's model index (its ``mmpretrain.list_models()``)."""
    import mmpretrain
    return mmpretrain.list_models()


def zoo_model(spec: Any, key: str
              ) -> Optional[Tuple[Dict, Optional[str], bool]]:
    """A model the ecosystem names: an MMPretrain model name
    (``'resnet50_8xb32_in1k'``, ``mmpretrain.list_models()``), a
    ``'package::path.py'`` config, or either as MMRazor writes it,
    ``dict(cfg_path=..., pretrained=False)``.

    Returns:
        tuple | None: The model config (in its package's scope, with the
        config's data preprocessor), the URL of its released weights (None
        when its metafile has none) and whether ``pretrained`` asks for
        them; None for a spec of another kind (a model dict).
    """
    if isinstance(spec, str):
        name, pretrained = spec, False
    elif isinstance(spec, Mapping) and 'cfg_path' in spec and \
            set(spec) <= {'cfg_path', 'pretrained'}:
        name, pretrained = spec['cfg_path'], bool(spec.get('pretrained'))
    else:
        return None
    from mmengine.hub import get_config
    from mmpretrain.apis.model import ModelHub
    if '::' in name:
        _check_installed(name, key)
        try:
            cfg = get_config(name, pretrained=True)
        except (AssertionError, ValueError):  # no released weights
            cfg = get_config(name)
        url = cfg.get('model_path')
    elif name.lower() in map(str.lower, _model_names()):
        meta = ModelHub.get(name)
        cfg, url = meta.config, meta.weights
    else:
        # Names that contain the given one, ignoring case and punctuation.
        plain = re.sub('[^a-z0-9]', '', name.lower())
        close = sorted((m for m in _model_names()
                        if plain in re.sub('[^a-z0-9]', '', m.lower())),
                       key=len)[:3] or difflib.get_close_matches(
                           name, _model_names(), 3)
        raise FEEDConfigError(
            key, f'{name!r} is neither an MMPretrain model name '
            "(mmpretrain.list_models()) nor a 'package::config.py' path" +
            (f'. Did you mean {", ".join(map(repr, close))}?' if close else
             ''))
    model = cfg.model.to_dict()
    if 'data_preprocessor' in cfg:
        model['data_preprocessor'] = cfg.data_preprocessor.to_dict()
    model['_scope_'] = cfg.get('default_scope', 'mmpretrain')
    return model, url, pretrained


def _check_installed(cfg_path: str, key: str) -> None:
    """The package of a ``package::path`` is installed: MMEngine's
    ``get_config`` would otherwise ``pip install`` it."""
    from mmengine.config.utils import MODULE2PACKAGE
    from mmengine.utils import is_installed
    scope = cfg_path.partition('::')[0]
    package = MODULE2PACKAGE.get(scope, scope)
    if not is_installed(package):
        raise FEEDConfigError(
            key, f'{cfg_path!r} names the package {package!r}, which is not '
            'installed; feed_mm installs nothing (the mmcls:: configs of '
            "MMRazor's are mmpretrain:: ones since MMPretrain replaced "
            'MMClassification)')


def load_weights(model: nn.Module, ckpt: str, key: str, owner: str) -> None:
    """Load ``model``'s weights strictly from a checkpoint file, work dir or
    URL, through feed_mm's checkpoint loader (verified downloads, safe
    unpickling); a mismatch names ``key`` (the config key of ``ckpt``),
    ``owner`` and the first differing keys and shapes."""
    if not isinstance(ckpt, str):
        raise FEEDConfigError(key, f'must be a path string, got {ckpt!r}')
    ckpt = resolve_checkpoint(ckpt, key, owner)
    try:
        checkpoint = load_checkpoint(ckpt, map_location='cpu')
    except DownloadError as err:
        raise FEEDConfigError(key, f'weights of {owner}: {err}') from err
    state = extract_model_state(checkpoint, model)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(
        k for k in set(own) & set(state)
        if hasattr(state[k], 'shape') and state[k].shape != own[k].shape)
    if missing or unexpected or mismatched:
        parts = []
        for label, keys in (('missing keys', missing),
                            ('unexpected keys', unexpected)):
            if keys:
                parts.append(f'{len(keys)} {label} ({", ".join(keys[:4])}'
                             f'{", ..." if len(keys) > 4 else ""})')
        for k in mismatched[:4]:
            parts.append(f'shape of {k}: checkpoint '
                         f'{tuple(state[k].shape)} vs model '
                         f'{tuple(own[k].shape)}')
        raise FEEDConfigError(
            key, f'checkpoint {ckpt} does not match the model of {owner}: '
            + '; '.join(parts))
    model.load_state_dict(state, strict=True)


def resolve_checkpoint(path: str, key: str, owner: str) -> str:
    """A checkpoint file, or a work dir whose ``last_checkpoint`` names one
    (what MMEngine's CheckpointHook writes), so configs can point at a
    teacher's work dir whatever its schedule length."""
    if '://' in path or osp.isfile(path):
        return path
    if osp.isdir(path):
        pointer = osp.join(path, 'last_checkpoint')
        if not osp.isfile(pointer):
            raise FEEDConfigError(
                key, f'{path} is a directory without a last_checkpoint file: '
                f'no trained checkpoint of {owner} there (train it first)')
        with open(pointer) as f:
            target = f.read().strip()
        if not osp.isabs(target) and not osp.isfile(target):
            target = osp.join(path, osp.basename(target))
        if not osp.isfile(target):
            raise FEEDConfigError(
                key, f'{pointer} names {target}, which does not exist')
        return target
    raise FEEDConfigError(key, f'checkpoint file of {owner} not found: {path}')


def extract_model_state(checkpoint: Any, model: nn.Module) -> Dict:
    """The weights of ``model`` in an mmengine/mmpretrain/FEED checkpoint.

    A FEED or MMRazor distillation checkpoint stores the student under
    ``architecture.``; a DDP-saved one under ``module.``. Both are unwrapped
    so that a trained student (e.g. an earlier sFEED generation) can be a
    teacher.
    """
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else checkpoint
    if not isinstance(state, Mapping):
        return {}
    own_keys = set(model.state_dict())
    # The DDP wrapper's prefix comes off first, so that a DDP-saved
    # distillation checkpoint ('module.architecture.') unwraps too.
    for prefix in ('module.', 'architecture.'):
        if own_keys.isdisjoint(state) and any(
                k.startswith(prefix) for k in state):
            state = OrderedDict((k[len(prefix):], v) for k, v in state.items()
                                if k.startswith(prefix))
    return dict(state)
