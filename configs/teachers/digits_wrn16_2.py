# A teacher of configs/feed/pfeed_hetero_resnet20_digits.py, trained alone.
_base_ = ['./digits_resnet20_s0.py']

model = dict(
    backbone=dict(_delete_=True, type='WideResNet', depth=16, widen_factor=2),
    head=dict(in_channels=128))
work_dir = 'work_dirs/teachers/digits_wrn16_2'
