# CIFAR ResNeXt-29 16x64d (Xie et al., section 5.3: cardinality 16, 64
# channels per group in the first stage), 68.1 M parameters with the
# 100-class head.
model = dict(
    # Built in MMPretrain's scope whatever the config's default scope (a
    # `feed_mm::` base is built in feed_mm's).
    _scope_='mmpretrain',
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='CifarResNeXt', depth=29, cardinality=16, base_width=64),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
