"""feed_mm: FEED (feature-level ensemble knowledge distillation) for
OpenMMLab.

Importing the package makes the stack usable and registers feed_mm's
modules: it installs the torch compatibility shims that mmrazor 1.0.0 needs
(before anything imports ``mmrazor.models``), MMEngine's ``package::``
config lookups without ``pkg_resources`` and the ``feed_mm::`` scope, the
safe checkpoint loader and atomic checkpoint writes, then imports the
modules that register themselves in MMRazor's and MMPretrain's registries.
A program that reads a config with ``package::`` paths imports feed_mm
first: ``custom_imports`` only run once the config is parsed. Configs load it with
``custom_imports=dict(imports=['feed_mm'], allow_failed_imports=False)``.
"""
import warnings

from .compat import apply_compat_shims, check_mmcv

check_mmcv()
apply_compat_shims()
# mmcv-lite has no compiled ops; MMRazor's import of mmcv's transformer
# bricks warns about a deformable-attention op that FEED never uses.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

# Registers MMRazor's own modules (SingleTeacherDistill, FTLoss, ...) and
# MMPretrain's, so that feed_mm configs can mix them with FEED.
import mmpretrain.datasets  # noqa: E402,F401
import mmpretrain.models  # noqa: E402,F401
import mmrazor.engine  # noqa: E402,F401
import mmrazor.models  # noqa: E402,F401

from . import datasets, engine, models  # noqa: E402,F401
from .utils import (install_atomic_local_writes,  # noqa: E402
                    install_feed_mm_scope, install_safe_checkpoint_loader)

install_safe_checkpoint_loader()
install_atomic_local_writes()
install_feed_mm_scope()
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'apply_compat_shims']
