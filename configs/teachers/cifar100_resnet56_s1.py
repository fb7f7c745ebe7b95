# ResNet-56 teacher 1 on CIFAR-100. Teachers of one architecture differ only by
# their seed (independently trained networks, the paper's main setting).
_base_ = ['./_base_/cifar100_resnet56.py']

randomness = dict(seed=1)
work_dir = 'work_dirs/teachers/cifar100_resnet56_s1'
