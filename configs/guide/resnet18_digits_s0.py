# A teacher for the guide (docs/distil_your_own_models.md): MMPretrain's
# CIFAR ResNet-18 model file, trained on SklearnDigits (32x32 RGB, 10
# classes, like CIFAR-10). A `package::` base needs `import feed_mm` before
# the config is read (tools/*.py do it) where setuptools has no
# pkg_resources.
_base_ = [
    'mmpretrain::_base_/models/resnet18_cifar.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/digits_sgd_10e.py',
    '../_base_/default_runtime.py',
]
randomness = dict(seed=0)
work_dir = 'work_dirs/guide/resnet18_digits_s0'
