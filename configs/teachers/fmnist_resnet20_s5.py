# ResNet-20 teacher 5 on Fashion-MNIST. Teachers of one architecture differ
# only by their seed (independently trained networks).
_base_ = ['./_base_/fmnist_resnet20.py']

randomness = dict(seed=5)
work_dir = 'work_dirs/teachers/fmnist_resnet20_s5'
