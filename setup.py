import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# Shipped inside the package, where MMPretrain ships its own, so that an
# installed feed_mm resolves `feed_mm::` config paths and runs its tools.
MIM_DIRS = ('configs', 'tools')


class BuildPyWithMim(build_py):
    """``build_py`` that also copies ``configs/`` and ``tools/`` into
    ``feed_mm/.mim/`` of a built package. An editable install reads them from
    the checkout instead (``feed_mm.utils.configs.config_root``)."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        for name in MIM_DIRS:
            target = osp.join(self.build_lib, 'feed_mm', '.mim', name)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                osp.join(HERE, name), target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc', '*.pth'))


def read_requirements(name: str) -> list:
    with open(osp.join(HERE, 'requirements', name)) as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'feed_mm', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='feed_mm',
    version=read_version(),
    description='FEED: feature-level ensemble knowledge distillation for '
    'OpenMMLab (MMRazor / MMPretrain)',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.exists(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt'),
    # mmcv is an extra, not a requirement: mmrazor 1.0.0 asserts
    # mmcv <= 2.1.0 and mmpretrain wants < 2.4. A full (compiled) mmcv the
    # user has stays as it is ('feed_mm[mmcv]' only checks the range); without
    # one, 'feed_mm[lite]' gives the pure-Python mmcv-lite (same `mmcv`
    # module, no CUDA ops, which FEED does not use).
    extras_require={
        'lite': ['mmcv-lite>=2.0.0,<=2.1.0'],
        'mmcv': ['mmcv>=2.0.0,<=2.1.0'],
        'tests': read_requirements('tests.txt'),
    },
    license='Apache License 2.0',
    cmdclass={'build_py': BuildPyWithMim},
    zip_safe=False,
)
