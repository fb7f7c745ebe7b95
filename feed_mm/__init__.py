"""feed_mm: FEED (feature-level ensemble knowledge distillation) for
OpenMMLab.

Importing the package registers feed_mm's modules in MMRazor's and
MMPretrain's registries, after :func:`feed_mm.compat.apply_all` (the torch
names mmrazor 1.0.0 needs, MMEngine's checkpoint types in torch's
allow-list, the ``feed_mm::`` config scope). A program that reads a config
with ``feed_mm::`` paths imports feed_mm first: ``custom_imports`` only run
once the config is parsed. Configs load it with
``custom_imports=dict(imports=['feed_mm'], allow_failed_imports=False)``.
"""
import warnings

from .compat import apply_all

apply_all()
# mmcv-lite has no compiled ops; MMRazor's import of mmcv's transformer
# bricks warns about a deformable-attention op that FEED never uses.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
# feed_mm pins setuptools < 81 for mmengine's `package::` config lookups,
# which import pkg_resources; its deprecation notice asks for that pin.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated')

# Registers MMRazor's own modules (SingleTeacherDistill, FTLoss, ...) and
# MMPretrain's, so that feed_mm configs can mix them with FEED.
import mmpretrain.datasets  # noqa: E402,F401
import mmpretrain.models  # noqa: E402,F401
import mmrazor.engine  # noqa: E402,F401
import mmrazor.models  # noqa: E402,F401

from . import datasets, engine, models, registry  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
