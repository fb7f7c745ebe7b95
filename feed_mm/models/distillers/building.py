"""How :class:`FEEDDistiller` builds its parts and attaches its recorders:
in MMRazor's scope, with errors that name the config key at fault."""
import copy
from typing import Any, Callable, Dict, Mapping, Optional

import torch.nn as nn
from mmrazor.models.task_modules import RecorderManager
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError
from .validation import (FEED_RECORDER, MODULE_RECORDER_TYPES,
                         check_module_source, own_argument)


def in_razor_scope(cfg: Mapping) -> Dict:
    """A copy of ``cfg`` built in MMRazor's scope unless it names another
    (``'scope.Type'`` or ``_scope_``): the distiller's parts must resolve
    the same under whatever default scope the caller runs (a runner of an
    mmpretrain config may have set it)."""
    cfg = dict(cfg)
    if isinstance(cfg.get('type'), str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmrazor')
    return cfg


def merge_cfgs(base: Optional[Dict], override: Optional[Dict]) -> Dict:
    """A deep copy of ``base`` updated with ``override`` (a teacher's
    options over the distiller's defaults)."""
    merged = copy.deepcopy(dict(base or {}))
    merged.update(copy.deepcopy(dict(override or {})))
    return merged


def build_part(cfg: Any,
               key: str,
               arg_key: Optional[Callable[[str], str]] = None) -> nn.Module:
    """Build a connector, translator or loss from its config; ``arg_key``
    maps an argument of the part to the config key that set it (default
    ``key.arg``)."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise FEEDConfigError(key, f'expected a config dict with a type, '
                              f'got {cfg!r}')
    try:
        return MODELS.build(in_razor_scope(cfg))
    except FEEDConfigError as err:
        arg = own_argument(err, cfg)
        if arg is None:
            raise
        raise FEEDConfigError(
            arg_key(arg) if arg_key else f'{key}.{arg}',
            err.message) from err
    except (AssertionError, KeyError, TypeError, ValueError) as err:
        # MMRazor's losses assert their arguments.
        raise FEEDConfigError(key, f'cannot build {cfg!r}: {err}') from err


def attach_recorders(model: nn.Module, owner: str, feature: Dict[str, Any],
                     extra: Dict[str, Dict], feature_key: str,
                     recorders_key: str) -> RecorderManager:
    """The FEED recorder of ``feature`` plus the ``extra`` recorders,
    attached to ``model`` once every module path is checked."""
    check_module_source(model, feature['source'], feature_key, owner)
    for name, cfg in extra.items():
        if cfg['type'] in MODULE_RECORDER_TYPES:
            check_module_source(model, cfg['source'],
                                f'{recorders_key}.{name}.source', owner)
    cfgs = dict(extra)
    cfgs[FEED_RECORDER] = dict(type=feature['type'], source=feature['source'])
    try:
        manager = RecorderManager(cfgs)
        manager.initialize(model)
    except (AssertionError, KeyError, TypeError,
            AttributeError, ImportError) as err:
        raise FEEDConfigError(recorders_key,
                              f'cannot attach to {owner}: {err}') from err
    return manager


def build_distiller(cfg: Dict) -> nn.Module:
    """Build ``FEEDDistill``'s ``distiller`` config, checking that it is a
    FEEDDistiller."""
    if not isinstance(cfg, Mapping):
        raise FEEDConfigError('model.distiller',
                              f'expected a config dict, got {cfg!r}')
    cfg = dict(cfg)
    cfg.setdefault('type', 'FEEDDistiller')
    try:
        distiller = MODELS.build(in_razor_scope(cfg))
    except FEEDConfigError:
        raise
    except Exception as err:
        raise FEEDConfigError('model.distiller', str(err)) from err
    from .feed_distiller import FEEDDistiller  # it imports this module
    if not isinstance(distiller, FEEDDistiller):
        raise FEEDConfigError(
            'model.distiller',
            'FEEDDistill needs a FEEDDistiller, got '
            f'{type(distiller).__name__}')
    return distiller
