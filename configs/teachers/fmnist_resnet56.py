# A ResNet-56 teacher on Fashion-MNIST (the CIFAR ResNet of the paper's
# experiments, 0.85 M parameters): a heterogeneous teacher of
# configs/feed/pfeed_resnet20_hetero_fmnist.py, on the same recipe.
_base_ = ['./_base_/fmnist_resnet20.py']

model = dict(backbone=dict(depth=56))
randomness = dict(seed=0)
work_dir = 'work_dirs/teachers/fmnist_resnet56'
