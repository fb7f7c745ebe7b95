# A WRN-16-2 teacher on Fashion-MNIST (another family and width than the
# ResNet-20 teachers: 128 channels in its last map): a heterogeneous teacher
# of configs/feed/pfeed_resnet20_hetero_fmnist.py, on the same recipe.
_base_ = ['./_base_/fmnist_resnet20.py']

model = dict(
    backbone=dict(_delete_=True, type='WideResNet', depth=16, widen_factor=2,
                  in_channels=1),
    head=dict(in_channels=128))
randomness = dict(seed=0)
work_dir = 'work_dirs/teachers/fmnist_wrn16_2'
