import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# Shipped inside the package, where MMEngine looks for a package's configs
# and MMPretrain ships its own: `feed_mm::` config paths and the tools of an
# installed feed_mm. In the repository feed_mm/.mim/ holds links to them.
MIM_FILES = ('configs', 'tools', 'model-index.yml')


class BuildPyWithMim(build_py):
    """``build_py`` that copies ``configs/``, ``tools/`` and
    ``model-index.yml`` into ``feed_mm/.mim/`` of a built package, in place
    of the checkout's links. An editable install uses the links."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        for name in MIM_FILES:
            source = osp.join(HERE, name)
            target = osp.join(self.build_lib, 'feed_mm', '.mim', name)
            if osp.islink(target) or osp.isfile(target):
                os.remove(target)
            elif osp.isdir(target):
                shutil.rmtree(target)
            os.makedirs(osp.dirname(target), exist_ok=True)
            if osp.isdir(source):
                # The committed teachers (configs/zoo/teachers/*.pth) come
                # along: the configs that learn from them point there.
                shutil.copytree(source, target, ignore=shutil.ignore_patterns(
                    '__pycache__', '*.pyc'))
            else:
                shutil.copyfile(source, target)


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
    # The distribution's name is not the module's: MMEngine 0.10 finds a
    # package's configs (`feed_mm::` paths) from the distribution's
    # location, which an editable install does not have, and by import
    # where no distribution of that name exists (utils/configs.py).
    name='mmfeed',
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
