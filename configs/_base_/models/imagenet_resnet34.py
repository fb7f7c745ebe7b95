# ResNet-34 in the torchvision/mmpretrain layout (21.8 M parameters), the
# paper's ImageNet student and teacher.
model = dict(
    # Built in MMPretrain's scope whatever the config's default scope (a
    # `feed_mm::` base is built in feed_mm's).
    _scope_='mmpretrain',
    type='mmpretrain.ImageClassifier',
    backbone=dict(
        type='ResNet',
        depth=34,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
