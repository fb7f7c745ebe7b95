# Wide ResNet-28-10 (Zagoruyko & Komodakis), 36.5 M parameters with the
# 100-class head. No dropout: the WRN paper's 0.3 is an option of its own
# (backbone.drop_rate), not part of the recipe FEED follows.
model = dict(
    # Built in MMPretrain's scope whatever the config's default scope (a
    # `feed_mm::` base is built in feed_mm's).
    _scope_='mmpretrain',
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='WideResNet', depth=28, widen_factor=10),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        # 64 x widen_factor channels in the last stage.
        in_channels=640,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
