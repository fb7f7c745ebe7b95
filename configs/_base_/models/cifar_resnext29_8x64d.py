# CIFAR ResNeXt-29 8x64d, the smaller model of Xie et al.'s CIFAR table
# (34.4 M parameters with the 100-class head): half the cardinality.
_base_ = ['./cifar_resnext29_16x64d.py']

model = dict(backbone=dict(cardinality=8))
