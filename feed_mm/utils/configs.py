"""Where feed_mm's own configs are, and the ``feed_mm::`` config scope.

feed_mm carries its ``configs/``, ``tools/`` and ``model-index.yml`` in
``feed_mm/.mim/``, the place MMEngine looks for a package's configs (as
MMPretrain ships its own): links to the repository's in a checkout, copies
in a built package (``setup.py``). :func:`register_config_scope` adds
``feed_mm`` to MMEngine's scopes, so that MMEngine itself reads
``feed_mm::path`` in ``_base_``, ``cfg_path`` and ``mmengine.hub``.
"""
import os
import os.path as osp

__all__ = [
    'FEED_MM_SCOPE', 'config_root', 'resolve_config',
    'register_config_scope', 'register_all_modules'
]

FEED_MM_SCOPE = 'feed_mm'
_PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def config_root() -> str:
    """The directory of feed_mm's configs, ``<package>/.mim/configs``.

    Raises:
        FileNotFoundError: feed_mm was installed without its configs.
    """
    root = osp.join(_PACKAGE_DIR, '.mim', 'configs')
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'feed_mm has no configs in {root}: reinstall feed_mm from its '
            'repository')
    return root


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
        # MMEngine's own lookup of `_base_` paths; it asserts on unknown
        # scopes.
        try:
            found = Config._get_cfg_path(path, '')[0]
        except (AssertionError, ValueError, ImportError,
                FileNotFoundError) as err:
            raise FileNotFoundError(
                f'config file not found: {path} ({err})') from err
        if not osp.isfile(found):
            raise FileNotFoundError(
                f'config file not found: {path} (no {found})')
        return found
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


def register_config_scope() -> None:
    """Make ``feed_mm::path`` a config path MMEngine resolves, as it does
    ``mmpretrain::path``: MMEngine accepts the scopes of its table
    ``MODULE2PACKAGE`` and finds their files under the package's ``.mim/``
    (links to the repository's ``configs/`` and ``tools/`` in a checkout,
    copies in a built package). The table maps ``feed_mm`` to the module
    name, which MMEngine locates by import whatever the install mode
    (setup.py). Idempotent."""
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault(FEED_MM_SCOPE, FEED_MM_SCOPE)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register feed_mm's modules (and MMRazor's and MMPretrain's) in the
    registries: what MMEngine calls when it builds a ``feed_mm::`` config
    with ``mmengine.hub.get_model``, as for every OpenMMLab package.

    Args:
        init_default_scope (bool): Make ``feed_mm`` the default scope when
            none is set. Defaults to True.
    """
    import feed_mm  # noqa: F401 - registers on import
    from mmengine.registry import DefaultScope
    if init_default_scope and DefaultScope.get_current_instance() is None:
        DefaultScope.get_instance(FEED_MM_SCOPE, scope_name=FEED_MM_SCOPE)
