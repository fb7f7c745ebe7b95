"""What ``import feed_mm`` does besides registering its modules, in one
place (:func:`apply_all`, called by the package's ``__init__`` before
anything imports ``mmrazor.models``); the README's section "What ``import
feed_mm`` changes" says the same.

The one change to another package is here: mmrazor 1.0.0 imports
quantization names that torch >= 2.0 renamed or dropped, so importing
mmrazor's distillation modules needs them back; each is restored only where
the running torch lacks it. Everything else uses the ecosystem's extension
points: torch's allow-list of safe globals (MMEngine's checkpoint types,
``feed_mm/utils/checkpoint.py``) and MMEngine's table of config scopes
(``feed_mm::`` paths, ``feed_mm/utils/configs.py``).
"""
import importlib
from typing import List


__all__ = ['apply_all', 'apply_compat_shims', 'applied_shims', 'check_mmcv']

_applied: List[str] = []


def _reverse_sequential_wrapper2(sequential):
    """torch < 2.0 shipped this fuser factory: ``(is_qat, m1, m2) ->
    sequential(m2, m1)``."""

    def fuser_method(is_qat, m1, m2):
        return sequential(m2, m1)

    return fuser_method


def _make_private_setter(attr: str):

    def setter(self, value):
        setattr(self, attr, value)
        return self

    return setter


def _shim_fuser_method_mappings() -> None:
    # torch 2.0 made reverse2/reverse3 private (`_reverse2`, `_reverse3`) and
    # dropped reverse_sequential_wrapper2; mmrazor imports all three by name.
    try:
        fmm = importlib.import_module(
            'torch.ao.quantization.fuser_method_mappings')
    except ImportError:
        return
    for public, private in (('reverse2', '_reverse2'),
                            ('reverse3', '_reverse3')):
        if not hasattr(fmm, public) and hasattr(fmm, private):
            setattr(fmm, public, getattr(fmm, private))
            _applied.append(f'fuser_method_mappings.{public}')
    if not hasattr(fmm, 'reverse_sequential_wrapper2'):
        fmm.reverse_sequential_wrapper2 = _reverse_sequential_wrapper2
        _applied.append('fuser_method_mappings.reverse_sequential_wrapper2')


def _shim_backend_config() -> None:
    try:
        backend_config = importlib.import_module(
            'torch.ao.quantization.backend_config')
    except ImportError:
        return
    # Newer torch no longer imports the `utils` submodule from the package
    # __init__, yet BackendConfig methods that mmrazor calls reach it as an
    # attribute (`torch.ao.quantization.backend_config.utils`).
    if not hasattr(backend_config, 'utils'):
        try:
            importlib.import_module(
                'torch.ao.quantization.backend_config.utils')
            _applied.append('backend_config.utils')
        except ImportError:
            pass
    # torch 2.1 removed these private builder setters of
    # BackendPatternConfig; mmrazor's backend configs call them while
    # building module-level tables at import time.
    pattern_config = getattr(backend_config, 'BackendPatternConfig', None)
    if pattern_config is None:
        return
    for setter, attr in (
        ('_set_overwrite_output_fake_quantize',
         '_overwrite_output_fake_quantize'),
        ('_set_overwrite_output_observer', '_overwrite_output_observer'),
        ('_set_input_output_observed', '_input_output_observed'),
    ):
        if not hasattr(pattern_config, setter):
            setattr(pattern_config, setter, _make_private_setter(attr))
            _applied.append(f'BackendPatternConfig.{setter}')


def check_mmcv() -> None:
    """mmcv has no install requirement in feed_mm (see setup.py); say what
    to install instead of failing deep inside mmrazor's import."""
    try:
        importlib.import_module('mmcv')
    except ImportError as err:
        raise ImportError(
            "feed_mm needs mmcv 2.0/2.1: pip install 'feed_mm[lite]' for the "
            "pure-Python mmcv-lite, or keep your own full mmcv") from err


def apply_compat_shims() -> List[str]:
    """Restore the torch names mmrazor 1.0.0 imports and the running torch
    lacks; idempotent, and a no-op on a torch that still has them.

    Returns:
        list[str]: The names restored so far (empty on a stack that needs
        none).
    """
    _shim_fuser_method_mappings()
    _shim_backend_config()
    return list(_applied)


def applied_shims() -> List[str]:
    """The names restored by :func:`apply_compat_shims` in this process."""
    return list(_applied)


def apply_all() -> None:
    """What ``import feed_mm`` does before its modules register: check
    mmcv, restore the torch names mmrazor needs, add MMEngine's checkpoint
    types to torch's allow-list of safe globals, and register the
    ``feed_mm`` config scope with MMEngine. Idempotent."""
    from feed_mm.utils.checkpoint import allow_mmengine_checkpoints
    from feed_mm.utils.configs import register_config_scope
    check_mmcv()
    apply_compat_shims()
    allow_mmengine_checkpoints()
    register_config_scope()
