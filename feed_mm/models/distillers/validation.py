"""Build-time parts of :class:`FEEDDistiller`: FEED map locations (given or
found by a dry run), module paths and the building of translators and
losses, each check raising a :class:`~feed_mm.utils.FEEDConfigError` that
names the config key at fault."""
import difflib
from dataclasses import dataclass
from inspect import signature
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError

# The recorder names reserved for the FEED maps (and a vision transformer's
# patch grid), and the FEED terms' prefix.
FEED_RECORDER = 'feed_feature'
FEED_GRID_RECORDER = 'feed_grid'
FEED_LOSS_PREFIX = 'loss_feed_'
# Recorders that observe module calls; the others patch methods or
# functions and may need the full ``mode='loss'`` forward.
MODULE_RECORDER_TYPES = ('ModuleOutputs', 'ModuleInputs')
# What a loss or connector raises on arguments it cannot take.
CALL_ERRORS = (AssertionError, IndexError, KeyError, RuntimeError, TypeError,
               ValueError)


@dataclass
class TokenGrid:
    """How a vision transformer's token sequence ``(N, extra + H*W, C)``
    becomes a FEED map ``(N, C, H, W)``: the ``extra`` tokens it drops
    (class, distillation, register tokens) and the module whose output
    gives the patch grid of the actual input (``(tokens, (H, W))``)."""
    extra: int
    grid_source: str


@dataclass
class FeatureLocation:
    """Where a FEED map is recorded (``source`` None: found by
    :func:`locate_feature_map`), the config key that said so, and for a
    token sequence the grid it is restored to."""
    source: Optional[str]
    data_idx: Optional[int]
    type: str
    key: str
    tokens: Optional[TokenGrid] = None


def token_grid(model: nn.Module, source: str) -> Optional[TokenGrid]:
    """The token geometry of the vision transformer that module ``source``
    belongs to, from what the model itself knows: the nearest enclosing
    module with a ``patch_embed`` and a ``num_extra_tokens`` (MMPretrain's
    ViT family: ViT, DeiT, DeiT-3, BEiT, EVA, DINOv2); None for others."""
    path = source
    while True:
        module = model.get_submodule(path)
        if hasattr(module, 'num_extra_tokens') and \
                hasattr(module, 'patch_embed'):
            prefix = f'{path}.' if path else ''
            return TokenGrid(int(module.num_extra_tokens),
                             f'{prefix}patch_embed')
        if not path:
            return None
        path = path.rpartition('.')[0]


def tokens_to_map(tokens: torch.Tensor, grid: TokenGrid,
                  hw: Sequence[int], owner: str, key: str) -> torch.Tensor:
    """``(N, extra + H*W, C)`` tokens as the ``(N, C, H, W)`` map of their
    patches, the extra tokens dropped."""
    height, width = hw
    batch, length, channels = tokens.shape
    if length != grid.extra + height * width:
        raise FEEDConfigError(
            key, f'{owner} gives {length} tokens, not the {grid.extra} extra '
            f'tokens + {height}x{width} patches of its input grid')
    patches = tokens[:, grid.extra:]
    return patches.transpose(1, 2).reshape(batch, channels, height, width)


class StopForward(Exception):
    """Raised inside a teacher's forward once every module a loss reads has
    run: nothing after them is needed."""


def guard_dry_run(forward: Callable[[], Any], owner: str) -> Any:
    """Run a dry-run forward; its failure is reported as a bad
    ``input_shape`` (the dummy batch is the only input it had)."""
    try:
        return forward()
    except StopForward:
        raise
    except (RuntimeError, ValueError, AssertionError) as err:
        raise FEEDConfigError(
            'model.input_shape', f'the dry run of {owner} failed on a '
            f'dummy batch: {err}') from err


def locate_feature_map(model: nn.Module, inputs: torch.Tensor, owner: str,
                       key: str) -> str:
    """The module that computes ``model``'s last feature map before global
    pooling, found by a forward on ``inputs`` and logged: the last module
    to finish with a spatial 4-D output (or a tuple ending with one), or,
    in a vision transformer, with its tokens of the patch grid (a class
    token pooled after them is not a map)."""
    outputs: List[tuple] = []
    handles = [
        module.register_forward_hook(
            lambda _, args, out, name=name: outputs.append((name, out)))
        for name, module in model.named_modules() if name]
    was_training = model.training
    try:
        with torch.no_grad():  # in eval mode: norm statistics stay
            guard_dry_run(lambda: model.eval()(inputs, mode='tensor'), owner)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    grids = {name: out[1] for name, out in outputs
             if name.endswith('patch_embed') and isinstance(out, tuple)}
    found = None
    for name, out in outputs:
        if isinstance(out, (tuple, list)) and out:
            out = out[-1]
        if not isinstance(out, torch.Tensor) or out.dim() not in (3, 4):
            continue
        if out.dim() == 4:
            # A 1x1 map is a pooled one (the output of AdaptiveAvgPool2d).
            found = (name, tuple(out.shape)) if out.shape[2:].numel() > 1 \
                else found
            continue
        tokens = token_grid(model, name)
        hw = grids.get(tokens.grid_source) if tokens else None
        if hw is not None and hw[0] * hw[1] > 1 and \
                out.shape[1] == tokens.extra + hw[0] * hw[1]:
            found = (name, (out.shape[0], out.shape[2], *hw))
        elif out.shape[1] > 1:
            found = None  # tokens that are not a patch grid
    if found is None:
        raise FEEDConfigError(
            key, f'{owner} computes no spatial feature map before its '
            'global pooling: name a module whose output is one')
    print_log(f'FEED map of {owner}: {found[0]!r}, shape {found[1]}',
              logger='current')
    return found[0]


def suggest(name: str, candidates: Sequence[str]) -> str:
    """`` Did you mean ...?`` with the candidates close to ``name``."""
    close = difflib.get_close_matches(name, list(candidates), n=3)
    return f' Did you mean {", ".join(map(repr, close))}?' if close else ''


def as_dict(value: Any, key: str) -> Dict:
    """``value`` (a dict, or None for an empty one) as a dict."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {value!r}')
    return dict(value)


def parse_feature(spec: Any, key: str) -> FeatureLocation:
    """A feature location: ``'auto'``, ``'backbone.layer3'`` or
    ``dict(source=..., data_idx=None, type='ModuleOutputs'|'ModuleInputs')``.
    """
    if spec == 'auto':
        return FeatureLocation(None, None, 'ModuleOutputs', key)
    if isinstance(spec, str):
        spec = dict(source=spec)
    if not isinstance(spec, Mapping) or not isinstance(
            spec.get('source'), str):
        raise FEEDConfigError(
            key, "a feature location is 'auto', a module path string or "
            f"dict(source='module.path', data_idx=None), got {spec!r}")
    unknown = set(spec) - {'source', 'data_idx', 'type'}
    if unknown:
        raise FEEDConfigError(
            f'{key}.{sorted(unknown)[0]}',
            'unknown key of a feature location (allowed: source, data_idx, '
            "type='ModuleOutputs'|'ModuleInputs')")
    recorder_type = spec.get('type', 'ModuleOutputs')
    if recorder_type not in MODULE_RECORDER_TYPES:
        raise FEEDConfigError(
            f'{key}.type',
            f'must be one of {MODULE_RECORDER_TYPES}, got {recorder_type!r}')
    data_idx = spec.get('data_idx')
    if data_idx is not None and (isinstance(data_idx, bool)
                                 or not isinstance(data_idx, int)):
        raise FEEDConfigError(f'{key}.data_idx',
                              f'must be an int or None, got {data_idx!r}')
    return FeatureLocation(spec['source'], data_idx, recorder_type, key)


def select_feature(record: Any, location: FeatureLocation, owner: str,
                   hw: Optional[Sequence[int]] = None) -> torch.Tensor:
    """The map in a FEED record: element ``data_idx`` (default: the last)
    of a tuple or list, or the tensor itself; a vision transformer's tokens
    restored to the patch grid ``hw`` of the input."""
    data_idx, source = location.data_idx, location.source
    if isinstance(record, (tuple, list)):
        data_idx = -1 if data_idx is None else data_idx
        if not -len(record) <= data_idx < len(record):
            raise FEEDConfigError(
                f'{location.key}.data_idx', f'data_idx={data_idx} is out of '
                f'range for the {len(record)} outputs of {source!r} of '
                f'{owner}')
        record = record[data_idx]
    elif data_idx is not None:
        raise FEEDConfigError(
            f'{location.key}.data_idx', f'data_idx={data_idx} is set but '
            f'{source!r} of {owner} returns one tensor')
    if not isinstance(record, torch.Tensor) or record.dim() < 2:
        raise FEEDConfigError(
            location.key, f'the feature {source!r} of {owner} is not a '
            f'feature map tensor (got {type(record).__name__})')
    if location.tokens is not None and record.dim() == 3:
        return tokens_to_map(record, location.tokens, hw, owner,
                             location.key)
    return record


def check_module_source(model: nn.Module, source: str, key: str,
                        owner: str) -> None:
    """``source`` is a module path of ``model``."""
    names = [name for name, _ in model.named_modules()]
    if source not in names:
        raise FEEDConfigError(
            key, f'{source!r} is not a module of {owner}.' +
            suggest(source, names))


def build_part(cfg: Any, key: str,
               arg_key: Optional[Callable[[str], str]] = None) -> nn.Module:
    """Build a connector, translator or loss in MMRazor's scope (unless its
    type names another). An error a feed_mm part raises about one of its
    arguments (``FEEDLoss.reduction``) is re-keyed to the config key that
    set it, ``arg_key(arg)`` (default ``key.arg``)."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, Mapping) or 'type' not in cfg:
        raise FEEDConfigError(key, f'expected a config dict with a type, '
                              f'got {cfg!r}')
    cfg = dict(cfg)
    if isinstance(cfg['type'], str) and '.' not in cfg['type']:
        cfg.setdefault('_scope_', 'mmrazor')
    part = cfg['type'] if isinstance(cfg['type'], str) else getattr(
        cfg['type'], '__name__', '')
    try:
        return MODELS.build(cfg)
    except FEEDConfigError as err:
        owner, _, arg = err.key.partition('.')
        if owner != part.rpartition('.')[2] or not arg or \
                err.message is None:
            raise
        raise FEEDConfigError((arg_key or (lambda a: f'{key}.{a}'))(arg),
                              err.message) from err
    except (AssertionError, KeyError, TypeError, ValueError) as err:
        # MMRazor's losses assert their arguments.
        raise FEEDConfigError(key, f'cannot build {cfg!r}: {err}') from err


def channel_args(cfg: Mapping, key: str) -> Sequence[str]:
    """The names of a translator's input and output channel arguments:
    feed_mm's and MMCV's ``in_channels``/``out_channels`` or MMRazor's
    connectors' ``in_channel``/``out_channel``; none for a translator
    without such arguments (nothing to infer)."""
    cls = cfg.get('type')
    if isinstance(cls, str):
        scope, _, name = cls.rpartition('.')
        cls = MODELS.get(cls if scope else f'mmrazor.{name}')
    if cls is None:
        raise FEEDConfigError(f'{key}.type',
                              f'{cfg.get("type")!r} is not a registered '
                              'connector')
    params = signature(cls).parameters
    for names in (('in_channels', 'out_channels'),
                  ('in_channel', 'out_channel')):
        if all(name in params for name in names):
            return names
    return ()
