# pFEED from heterogeneous teachers: another depth, another family with
# other channels, and a stock mmpretrain network whose last map is smaller
# (ResNet_CIFAR-18: 512 x 4 x 4 against the student's 64 x 8 x 8; resized by
# FEEDLoss). Channels are inferred; each teacher gets its own translator.
# The teachers are trained by configs/teachers/digits_{resnet32,wrn16_2,
# resnet18}.py.
_base_ = ['./_base_/digits_feed.py']

model = dict(
    teachers=dict(
        resnet32=dict(
            model=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='CifarResNet', depth=32),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10,
                          in_channels=64)),
            ckpt='work_dirs/teachers/digits_resnet32'),
        wrn16_2=dict(
            model=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='WideResNet', depth=16, widen_factor=2),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10,
                          in_channels=128)),
            ckpt='work_dirs/teachers/digits_wrn16_2'),
        resnet18=dict(
            model=dict(
                type='mmpretrain.ImageClassifier',
                backbone=dict(type='ResNet_CIFAR', depth=18),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=10,
                          in_channels=512)),
            ckpt='work_dirs/teachers/digits_resnet18',
            # Teacher-specific options: a lighter weight for the largest.
            loss_weight=0.5),
    ))
