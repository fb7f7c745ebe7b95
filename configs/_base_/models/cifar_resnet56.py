# CIFAR ResNet-56 (He et al.: 6n+2 layers with n = 9, 16/32/64 channels),
# 0.86 M parameters with the 100-class head: the paper's small CIFAR-100
# student and teacher.
model = dict(
    # Built in MMPretrain's scope whatever the config's default scope (a
    # `feed_mm::` base is built in feed_mm's).
    _scope_='mmpretrain',
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='CifarResNet', depth=56),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
