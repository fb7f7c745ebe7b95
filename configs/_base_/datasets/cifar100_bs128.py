# CIFAR-100 with the augmentation of Factor Transfer's official code (which
# FEED builds on): 4-pixel padded random crop and horizontal flip, mean/std
# normalisation. CheckedCIFAR100 says which file is missing instead of trying
# to download (no internet on training machines); put the python version
# under data_root as data/cifar100/cifar-100-python/{train,test,meta}.
dataset_type = 'mmpretrain.CheckedCIFAR100'
data_root = 'data/cifar100'
num_classes = 100

data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_classes,
    # Per-channel statistics of the CIFAR-100 training images (0..255).
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    # The pickled arrays are already RGB.
    to_rgb=False,
)

train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=4),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

# Batch 128 on one GPU, as in Factor Transfer (auto_scale_lr of the CIFAR
# schedules refers to it).
train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
# CIFAR has no separate validation split: the test split is reported.
test_dataloader = val_dataloader
test_evaluator = val_evaluator
