"""Where feed_mm's own configs are, and the ``feed_mm::`` config scope.

An installed feed_mm carries its ``configs/`` and ``tools/`` in
``feed_mm/.mim/`` (copied there by ``setup.py`` when a wheel is built), as
MMPretrain ships its own; a checkout (editable install, ``PYTHONPATH``)
uses the repository's ``configs/`` directly. :func:`install_feed_mm_scope`
makes MMEngine read ``feed_mm::path`` in ``_base_``, ``cfg_path`` and
``mmengine.hub.get_config``/``get_model`` from there, so that a user's
project outside this repository inherits feed_mm's bases.
"""
import copy
import os
import os.path as osp
from typing import Any, Optional, Tuple

__all__ = [
    'FEED_MM_SCOPE', 'config_root', 'resolve_config', 'install_feed_mm_scope'
]

FEED_MM_SCOPE = 'feed_mm'
_PREFIX = FEED_MM_SCOPE + '::'
_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config_root() -> str:
    """The directory of feed_mm's configs.

    Returns:
        str: ``<package>/.mim/configs`` in an installed feed_mm, else the
        ``configs/`` of the repository the package was imported from.

    Raises:
        FileNotFoundError: Neither exists (a feed_mm built without its
            configs).
    """
    packaged = osp.join(_PACKAGE_DIR, '.mim', 'configs')
    if osp.isdir(packaged):
        return packaged
    checkout = osp.dirname(_PACKAGE_DIR)
    # setup.py marks a checkout: a bare site-packages/configs belongs to
    # some other distribution.
    if osp.isdir(osp.join(checkout, 'configs')) and osp.isfile(
            osp.join(checkout, 'setup.py')):
        return osp.join(checkout, 'configs')
    raise FileNotFoundError(
        f'feed_mm has no configs: neither {packaged} (an installed '
        f'feed_mm) nor {osp.join(checkout, "configs")} (a checkout) exists; '
        'reinstall feed_mm from its repository')


def _packaged_config(cfg_path: str) -> str:
    """The file of a ``feed_mm::relative/path.py`` config path."""
    relative = cfg_path[len(_PREFIX):]
    path = osp.join(config_root(), relative)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'config file not found: {cfg_path} (no {relative} in '
            f"feed_mm's configs, {config_root()})")
    return path


def resolve_config(path: str) -> str:
    """The config file a tool reads for ``path``, from any working
    directory.

    Args:
        path (str): A config path as a user writes it: relative to the
            working directory, or relative to the repository
            (``configs/teachers/digits_resnet20_s0.py``) or to its
            ``configs/`` (``teachers/digits_resnet20_s0.py``), or
            ``package::relative/path.py`` (``feed_mm::``, ``mmpretrain::``).

    Returns:
        str: ``path`` itself when that file exists; else the file of the
        ``package::`` path; else feed_mm's config of the same relative path
        (see :func:`config_root`).

    Raises:
        FileNotFoundError: No such file; the message names ``path`` and
            every place looked in.
    """
    if osp.isfile(path):
        return path
    if '::' in path:
        from mmengine.config import Config
        # MMEngine's own lookup of `_base_` paths (feed_mm:: included once
        # install_feed_mm_scope has run); it asserts on unknown scopes.
        try:
            return Config._get_cfg_path(path, '')[0]
        except (AssertionError, ValueError, ImportError) as err:
            raise FileNotFoundError(
                f'config file not found: {path} ({err})') from err
    looked = [osp.abspath(path)]
    if not osp.isabs(path):
        parts = osp.normpath(path).split(os.sep)
        if parts[0] == 'configs' and len(parts) > 1:
            parts = parts[1:]
        try:
            candidate = osp.join(config_root(), *parts)
        except FileNotFoundError as err:
            looked.append(str(err))
        else:
            if osp.isfile(candidate):
                return candidate
            looked.append(candidate)
    raise FileNotFoundError(f'config file not found: {path} (looked for '
                            f'{" and ".join(looked)})')


def legacy_scope(cfg_path: str) -> str:
    """``mmcls::path`` (MMClassification 1.x, MMRazor's shipped configs) as
    ``mmpretrain::path`` where mmcls is not installed: MMPretrain is its
    successor and keeps its config paths."""
    import importlib.util
    if cfg_path.startswith('mmcls::') and \
            importlib.util.find_spec('mmcls') is None:
        return 'mmpretrain::' + cfg_path[len('mmcls::'):]
    return cfg_path


def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
    """``Config._get_cfg_path`` that also reads ``feed_mm::`` paths.

    A ``feed_mm::`` base comes back with no scope: feed_mm's configs name
    their registry scopes themselves (``default_scope``, ``mmpretrain.``
    prefixes), exactly as when they are inherited by relative path inside
    the repository. ``feed_mm`` is a place to find files, not a registry
    scope (there is no ``feed_mm`` registry: its modules live in MMRazor's
    and MMPretrain's).
    """
    if cfg_path.startswith(_PREFIX):
        return _packaged_config(cfg_path), None
    return _original_get_cfg_path(legacy_scope(cfg_path), filename)


def _get_config(cfg_path: str, pretrained: bool = False):
    """``mmengine.hub.get_config`` that also reads ``feed_mm::`` paths."""
    if not cfg_path.startswith(_PREFIX):
        return _original_get_config(legacy_scope(cfg_path), pretrained)
    if pretrained:
        raise ValueError(
            f'{cfg_path}: feed_mm publishes no pretrained weights; train '
            'the config and give its checkpoint (ckpt=...) instead')
    from mmengine.config import Config
    return Config.fromfile(_packaged_config(cfg_path))


def _get_model(cfg_path: str, pretrained: bool = False, **kwargs: Any):
    """``mmengine.hub.get_model`` that also builds ``feed_mm::`` configs,
    in the config's own ``default_scope`` (MMEngine's would switch to a
    ``feed_mm`` registry scope, which does not exist)."""
    if not cfg_path.startswith(_PREFIX):
        return _original_get_model(legacy_scope(cfg_path), pretrained,
                                   **kwargs)
    from mmengine.registry import MODELS, DefaultScope
    cfg = _get_config(cfg_path, pretrained)
    model_cfg = copy.deepcopy(cfg.model)
    if 'data_preprocessor' in cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        return MODELS.build(model_cfg, default_args=kwargs)


def _refuse_install(package: str) -> None:
    """mmengine's ``install_package``, which runs ``pip install``, made an
    error: a config lookup installs nothing."""
    from mmengine.utils import is_installed
    if not is_installed(package):
        raise ImportError(
            f'the config names the package {package!r}, which is not '
            f'installed; feed_mm installs nothing: pip install {package} '
            "yourself (MMClassification's mmcls:: configs are read from "
            'mmpretrain:: when mmcls is missing)')


_original_get_cfg_path = None
_original_get_config = None
_original_get_model = None


def install_feed_mm_scope() -> None:
    """Make MMEngine accept ``feed_mm::`` config paths; idempotent.

    Registers the scope in ``MODULE2PACKAGE`` (MMEngine refuses unlisted
    scopes) and routes ``feed_mm::`` paths of ``Config`` and
    ``mmengine.hub`` to :func:`config_root`; every other path goes to
    MMEngine's own functions.
    """
    global _original_get_cfg_path, _original_get_config, _original_get_model
    import mmengine.hub
    import mmengine.hub.hub as hub_module
    from mmengine.config import Config
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault(FEED_MM_SCOPE, 'feed_mm')
    # mmengine's config lookups pip-install a missing package: never.
    import mmengine.utils
    import mmengine.utils.package_utils
    for module in (mmengine.utils, mmengine.utils.package_utils, hub_module):
        module.install_package = _refuse_install
    if _original_get_cfg_path is None:
        _original_get_cfg_path = Config._get_cfg_path
        Config._get_cfg_path = staticmethod(_get_cfg_path)
    if _original_get_config is None:
        _original_get_config = hub_module.get_config
        _original_get_model = hub_module.get_model
        # mmrazor imports get_model from the package when it builds a
        # `cfg_path` model; hub.get_model calls the module's get_config.
        for module in (mmengine.hub, hub_module):
            module.get_config = _get_config
            module.get_model = _get_model
