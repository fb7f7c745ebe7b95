# A teacher of configs/feed/pfeed_hetero_resnet20_digits.py, trained alone.
_base_ = ['./digits_resnet20_s0.py']

model = dict(
    backbone=dict(_delete_=True, type='ResNet_CIFAR', depth=18),
    head=dict(in_channels=512))
work_dir = 'work_dirs/teachers/digits_resnet18'
