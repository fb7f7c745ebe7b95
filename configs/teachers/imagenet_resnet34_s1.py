# ResNet-34 teacher 1 on ImageNet. Teachers differ only by their seed
# (independently trained networks, the paper's main setting).
_base_ = ['./_base_/imagenet_resnet34.py']

randomness = dict(seed=1)
work_dir = 'work_dirs/teachers/imagenet_resnet34_s1'
