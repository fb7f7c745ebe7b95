"""Every change ``import feed_mm`` makes to torch, MMEngine and MMRazor,
in one place: :data:`PATCHES` says what each patches, why and for which
versions, and when it does nothing; :func:`apply_all` applies them (the
package's ``__init__`` calls it before anything imports ``mmrazor.models``).
The README's section "What ``import feed_mm`` changes" lists the same.

The torch shims and the package lookups live here; the checkpoint loader,
the atomic writes and the ``feed_mm::`` scope live with the code they serve
(``feed_mm/utils/``) and are applied from here.
"""
import importlib
import importlib.metadata
import importlib.util
import os.path as osp
import sys
from typing import List, Optional


__all__ = ['PATCHES', 'apply_all', 'apply_compat_shims', 'applied_shims',
           'check_mmcv']

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


def _has_pkg_resources() -> bool:
    """Whether ``import pkg_resources`` would succeed, without importing it
    (slow, and deprecated: it warns on import in setuptools >= 67)."""
    if 'pkg_resources' in sys.modules:
        return sys.modules['pkg_resources'] is not None
    return importlib.util.find_spec('pkg_resources') is not None


def _distribution(package: str) -> Optional[importlib.metadata.Distribution]:
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` on ``importlib.metadata``: a
    distribution of that name, or else an importable (non-namespace) module,
    as the original accepts packages found on ``PYTHONPATH``."""
    if _distribution(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def _package2module(package: str) -> str:
    """``mmengine.utils.package_utils.package2module``: the first top-level
    module of a distribution (``mmsegmentation`` -> ``mmseg``)."""
    dist = _distribution(package)
    top_level = dist.read_text('top_level.txt') if dist is not None else None
    if not top_level or not top_level.split():
        raise ValueError(f'can not infer the module name of {package}')
    return top_level.split()[0]


def _get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` on ``importlib.metadata``: the
    directory of the package's top-level module.

    The module is located with ``importlib.util.find_spec`` (the copy that
    ``import`` would load), so editable installs, whose files are not under
    the distribution's site-packages location, resolve too.

    Raises:
        importlib.metadata.PackageNotFoundError: Neither a distribution nor
            a module of that name exists.
        RuntimeError: The module is a namespace package (no single
            directory), as in mmengine.
    """
    dist = _distribution(package)
    module = package
    if importlib.util.find_spec(package) is None and dist is not None:
        module = _package2module(package)
    spec = importlib.util.find_spec(module)
    if spec is None:
        if dist is None:
            raise importlib.metadata.PackageNotFoundError(package)
        return osp.join(str(dist.locate_file('')), module)
    if spec.origin is None:
        raise RuntimeError(
            f'{package} is a namespace package, which is invalid for '
            '`get_install_path`')
    return osp.dirname(spec.origin)


# The modules that bound mmengine's package helpers by name at import time
# (`from mmengine.utils import get_installed_path, ...`): each binding is
# replaced, not only the definition in package_utils.
_PACKAGE_UTILS_USERS = ('mmengine.utils.package_utils', 'mmengine.utils',
                        'mmengine.config.config', 'mmengine.hub.hub')
_PACKAGE_UTILS_SHIMS = {
    'is_installed': _is_installed,
    'get_installed_path': _get_installed_path,
    'package2module': _package2module,
}


def _shim_package_utils() -> None:
    """Resolve mmengine's ``package::path`` config paths without
    ``pkg_resources``; a no-op where it can be imported (mmengine's own
    functions then work as they are)."""
    if _has_pkg_resources():
        return
    try:
        package_utils = importlib.import_module('mmengine.utils.package_utils')
    except ImportError:
        return
    originals = {
        name: getattr(package_utils, name, None)
        for name in _PACKAGE_UTILS_SHIMS
    }
    # All imported before any is patched, so that a module importing
    # another one's binding gets mmengine's function and is patched too.
    modules = []
    for module_name in _PACKAGE_UTILS_USERS:
        try:
            modules.append(importlib.import_module(module_name))
        except ImportError:
            continue
    for module in modules:
        for name, shim in _PACKAGE_UTILS_SHIMS.items():
            # Only mmengine's own function is replaced: a binding someone
            # else patched stays theirs.
            current = getattr(module, name, None)
            if current is not None and current is originals[name] \
                    and current is not shim:
                setattr(module, name, shim)
                _applied.append(f'{module.__name__}.{name}')


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
    """Install the shims that the running torch and setuptools need;
    idempotent.

    Returns:
        list[str]: The names restored or replaced so far (empty on a stack
        that needs none).
    """
    _shim_fuser_method_mappings()
    _shim_backend_config()
    _shim_package_utils()
    return list(_applied)


def applied_shims() -> List[str]:
    """The names restored by :func:`apply_compat_shims` in this process."""
    return list(_applied)


#: name -> (what it patches, why, when it is a no-op).
PATCHES = {
    'torch-quantization-names': (
        'torch.ao.quantization: reverse2, reverse3, '
        'reverse_sequential_wrapper2, backend_config.utils and three private '
        'BackendPatternConfig setters',
        'mmrazor 1.0.0 imports them from every model module; torch >= 2.0 '
        'renamed or dropped them (quantization itself is not used)',
        'on a torch that still has each name'),
    'package-lookups': (
        'mmengine.utils.package_utils (is_installed, get_installed_path, '
        'package2module) where mmengine uses them',
        "mmengine 0.10 resolves 'package::path' configs with pkg_resources, "
        'which setuptools >= 81 no longer ships',
        'where pkg_resources imports'),
    'safe-checkpoint-loading': (
        "mmengine's CheckpointLoader for local paths and http(s) URLs",
        'mmengine 0.10 calls torch.load without weights_only: since torch '
        '2.6 its checkpoints fail to load; turning weights_only off would '
        'run code from downloaded files. Loads keep weights_only with an '
        "allow-list of MMEngine's own types",
        'never (every checkpoint load goes through it)'),
    'atomic-checkpoint-writes': (
        "mmengine's local file backends and CheckpointHook's last_checkpoint "
        'write and pruning',
        'a process killed while saving leaves no truncated checkpoint; a '
        'failed save keeps the previous ones',
        'never (same files and contents)'),
    'feed_mm-config-scope': (
        'mmengine Config._get_cfg_path, mmengine.hub.get_config/get_model, '
        'MODULE2PACKAGE',
        "so that 'feed_mm::path' configs resolve like MMPretrain's, and "
        "MMRazor's 'mmcls::path' as 'mmpretrain::path'",
        "for 'package::' paths of other packages; mmcls:: where mmcls is "
        'installed'),
    'no-pip-install': (
        'mmengine.utils.install_package (and its import in mmengine.hub)',
        "mmengine's get_config/get_model run 'pip install' for a package a "
        'config names and the environment lacks; feed_mm raises instead',
        'when the package is installed'),
}


def apply_all() -> None:
    """Apply every patch of :data:`PATCHES`; idempotent."""
    from feed_mm.utils.atomic_io import install_atomic_local_writes
    from feed_mm.utils.checkpoint import install_safe_checkpoint_loader
    from feed_mm.utils.configs import install_feed_mm_scope
    check_mmcv()
    apply_compat_shims()
    install_safe_checkpoint_loader()
    install_atomic_local_writes()
    install_feed_mm_scope()
