"""Every config under configs/ (but the `_base_` parts) loads, builds its
model, and either builds its data set (digits, bundled) or says which data
path is missing (CIFAR-100, ImageNet).

Teachers are built without checkpoints (random weights): the test needs no
trained network. The CIFAR-100 and ImageNet models are big (a ResNeXt-29
16x64d holds 68 M parameters): of their FEED configs only the single-teacher
one is built (FEEDDistill's dry run is its one forward); the multi-teacher
ones are checked to add teachers of that same model.
"""
import copy
import glob
import os.path as osp
from typing import Any, Dict, Optional

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import feed_mm  # noqa: F401
from tests.test_zoo.test_baselines import PEERS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                          recursive=True)
    # Zoo protocols are not runnable configs (tests/test_zoo/).
    if not {'_base_', 'zoo'} & set(osp.relpath(path, REPO).split(osp.sep)))
CIFAR_MODEL_BASES = sorted(
    osp.relpath(path, REPO)
    for path in glob.glob(osp.join(REPO, 'configs', '_base_', 'models',
                                   'cifar_*.py')))

# Parameter counts of the paper's experimental setting (the project spec), with
# the 100-class head; keyed by the backbone settings that define them.
CIFAR100_PARAMS = {
    ('CifarResNet', 56): 0.86e6,
    ('WideResNet', 28, 10): 36.5e6,
    ('CifarResNeXt', 29, 16, 64): 68.1e6,
    ('CifarResNeXt', 29, 8, 64): 34.4e6,
}
# The data set types whose files are absent here, and the path their error
# must name.
MISSING_DATA = {
    'mmpretrain.CheckedCIFAR100': 'data/cifar100',
    'mmpretrain.CheckedImageNet': 'data/imagenet',
}


# The FEED maps of the configs with a vision transformer student.
VIT_MAPS = {
    'configs/guide/ft_zoo_deit_tiny_resnet50_imagenet.py':
    {'backbone.ln1', 'backbone'},
}


def load(config: str) -> Config:
    """A config as the tools read it: a FEED model's dry-run input shape
    from the training pipeline when the config does not write it."""
    from feed_mm.apis.cli import set_input_shape
    cfg = Config.fromfile(osp.join(REPO, config))
    set_input_shape(cfg)
    return cfg


def arch_key(model_cfg: Dict[str, Any]) -> tuple:
    """The key of ``CIFAR100_PARAMS`` for a classifier config."""
    backbone = model_cfg['backbone']
    keys = {
        'CifarResNet': ('depth', ),
        'WideResNet': ('depth', 'widen_factor'),
        'CifarResNeXt': ('depth', 'cardinality', 'base_width'),
    }.get(backbone['type'], ('depth', ))
    return (backbone['type'], *(backbone.get(k) for k in keys))


def student_cfg(cfg: Config) -> Dict[str, Any]:
    model = cfg.model
    return model.get('architecture', model)


def buildable_model_cfg(cfg: Config) -> Dict[str, Any]:
    """The model dict as the runner would build it, with teachers left
    random (no checkpoints)."""
    model = copy.deepcopy(cfg.model.to_dict())
    # As Runner.from_cfg does with the top-level data_preprocessor.
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor',
                         copy.deepcopy(cfg.data_preprocessor.to_dict()))
    if model['type'] == 'FEEDDistill':
        # A teacher named by the zoo (a string) gets its released weights.
        model['teachers'] = {
            name: dict(model=spec, ckpt=None) if isinstance(spec, str) else
            dict(spec, ckpt=None) for name, spec in model['teachers'].items()}
        model['allow_random_teachers'] = True
    elif model['type'].endswith('SingleTeacherDistill'):
        model['teacher_ckpt'] = None
    return model


def build_model(cfg: Config) -> torch.nn.Module:
    from mmrazor.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(buildable_model_cfg(cfg))


def num_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def dataset_type(cfg: Config) -> Optional[str]:
    return cfg.train_dataloader.dataset.get('type')


def check_param_count(model_cfg: Dict[str, Any], count: int,
                      where: str) -> None:
    key = arch_key(model_cfg)
    assert key in CIFAR100_PARAMS, (
        f'{where}: no expected parameter count for the CIFAR-100 '
        f'architecture {key}; add the spec\'s value to CIFAR100_PARAMS')
    expected = CIFAR100_PARAMS[key]
    assert abs(count - expected) <= 0.02 * expected, (
        f'{where}: {key} has {count / 1e6:.2f} M parameters, the spec says '
        f'{expected / 1e6:.2f} M')


def test_configs_found():
    names = {osp.basename(c) for c in CONFIGS}
    for arch in ('resnet56', 'wrn28_10', 'resnext29_16x64d'):
        for seed in range(3):
            assert f'cifar100_{arch}_s{seed}.py' in names
        assert {f'ft_{arch}_{arch}_cifar100.py',
                f'pfeed_{arch}_2x{arch}_cifar100.py',
                f'pfeed_{arch}_3x{arch}_cifar100.py'} <= names
    assert {f'imagenet_resnet34_s{seed}.py' for seed in range(3)} <= names
    assert {'ft_resnet34_resnet34_imagenet.py',
            'pfeed_resnet34_2xresnet34_imagenet.py',
            'pfeed_resnet34_3xresnet34_imagenet.py'} <= names


_CHANNELS: Dict[str, int] = {}


def first_sample_channels(dataset_cfg: Dict[str, Any]) -> int:
    """Channels of the first sample of a data set config: the configs
    share a few data sets, each is built once."""
    from mmpretrain.registry import DATASETS
    key = repr(dataset_cfg)
    if key not in _CHANNELS:
        _CHANNELS[key] = DATASETS.build(dataset_cfg)[0]['inputs'].shape[0]
    return _CHANNELS[key]


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config, tmp_path, monkeypatch, request):
    from mmpretrain.registry import DATASETS, METRICS, TRANSFORMS

    cfg = load(config)
    big = dataset_type(cfg) in MISSING_DATA
    if cfg.model.type == 'FEEDDistill':
        assert cfg.default_scope == 'mmrazor'
        teachers = cfg.model.teachers
        ft = osp.join(osp.dirname(config), 'ft_' + '_'.join(
            osp.basename(config).split('_')[1:]).replace(
                f'{len(teachers)}x', '', 1))
        if big and len(teachers) > 1 and osp.isfile(osp.join(REPO, ft)):
            # The single-teacher config of the same experiment builds; this
            # one adds teachers of its model, each with its own checkpoint.
            ft = load(ft)
            assert cfg.model.architecture == ft.model.architecture
            assert all(t.model == ft.model.teachers.t0.model
                       for t in teachers.values())
            assert len({t.ckpt for t in teachers.values()}) == len(teachers)
        elif (not big or len(teachers) == 1) and config not in PEERS:
            # The guide's zoo config trains in tests/test_tools, the peers
            # and ablations in tests/test_zoo/test_baselines.py.
            algo = build_model(cfg)
            assert set(algo.teachers) == set(teachers)
            # 'auto', the recipe's default, finds the map the recipe named
            # before: the backbone's last stage (a ViT: its last tokens).
            distiller = algo.distiller
            located = {distiller.student_location.source} | {
                location.source
                for location in distiller.teacher_locations.values()}
            assert located == VIT_MAPS.get(config, {'backbone'})
    elif not big:
        build_model(cfg)

    # A real data/ folder in the repository must not make this pass.
    monkeypatch.chdir(tmp_path)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset_cfg = copy.deepcopy(cfg[loader].dataset)
            for transform in dataset_cfg.get('pipeline', []):
                TRANSFORMS.build(copy.deepcopy(transform))
            missing = MISSING_DATA.get(dataset_cfg.type)
            if dataset_cfg.type == 'mmpretrain.CheckedFashionMNIST':
                assert dataset_cfg.data_root == 'data/fashion_mnist'
                dataset_cfg.data_root = request.getfixturevalue(
                    'fashion_mnist_root')
            if missing is None:
                channels = len(cfg.data_preprocessor.mean)
                assert first_sample_channels(dataset_cfg.to_dict()) == \
                    channels
            else:
                assert dataset_cfg.data_root == missing
                with pytest.raises(FileNotFoundError, match=missing):
                    DATASETS.build(dataset_cfg)
        METRICS.build(copy.deepcopy(cfg.val_evaluator))


@pytest.mark.parametrize('config', CIFAR_MODEL_BASES)
def test_cifar_model_base_param_count(config):
    """Every CIFAR-100 model base (the 8x64d one too, which no experiment
    uses) has the spec's size; built on the meta device, so no weights are
    allocated."""
    from mmrazor.registry import MODELS
    cfg = load(config)
    with DefaultScope.overwrite_default_scope('mmpretrain'), \
            torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model.to_dict()))
    check_param_count(cfg.model, num_params(model), config)


def test_checked_datasets_pass_when_files_exist(tmp_path):
    """Past the file check the checked types are mmpretrain's own: with the
    files in place, CIFAR-100 gets to mmpretrain's md5 check (these are
    dummy files) and ImageNet lists the image folder."""
    import cv2
    import numpy as np
    from mmpretrain.registry import DATASETS

    cifar = tmp_path / 'cifar100' / 'cifar-100-python'
    cifar.mkdir(parents=True)
    for name in ('train', 'test', 'meta'):
        (cifar / name).write_bytes(b'not the real file')
    with pytest.raises(RuntimeError, match='download=True'):
        DATASETS.build(
            dict(type='mmpretrain.CheckedCIFAR100',
                 data_root=str(tmp_path / 'cifar100')))

    image_dir = tmp_path / 'imagenet' / 'train' / 'n01440764'
    image_dir.mkdir(parents=True)
    cv2.imwrite(str(image_dir / 'a.JPEG'), np.zeros((8, 8, 3), np.uint8))
    imagenet = dict(
        type='mmpretrain.CheckedImageNet',
        data_root=str(tmp_path / 'imagenet'),
        split='train',
        metainfo=dict(classes=('tench', )))
    assert len(DATASETS.build(imagenet)) == 1
    with pytest.raises(FileNotFoundError, match='meta/train.txt'):
        DATASETS.build(dict(imagenet, ann_file='meta/train.txt'))
