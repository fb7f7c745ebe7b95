# CIFAR ResNet-20 (16/32/64 channels, 0.27 M parameters) for Fashion-MNIST's
# single-channel 28x28 images.
model = dict(
    # Built in MMPretrain's scope whatever the config's default scope (a
    # `feed_mm::` base is built in feed_mm's).
    _scope_='mmpretrain',
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='CifarResNet', depth=20, in_channels=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ),
)
