# ImageNet-1k (ILSVRC-2012) with the standard ResNet augmentation, as in
# OpenMMLab's imagenet_bs32 settings. CheckedImageNet says which folder is
# missing: data/imagenet/{train,val}/ (one sub-folder per class, or flat
# folders with meta/{train,val}.txt lists).
dataset_type = 'mmpretrain.CheckedImageNet'
data_root = 'data/imagenet'
num_classes = 1000

data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_classes,
    # ImageNet RGB statistics (0..255) used by torchvision and mmpretrain
    # ResNets, so their released weights fit too.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # Images are decoded as BGR.
    to_rgb=True,
)

train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=256, edge='short'),
    dict(type='mmpretrain.CenterCrop', crop_size=224),
    dict(type='mmpretrain.PackInputs'),
]

# batch_size is per GPU: the recipe's batch of 256 is 32 per GPU x 8 GPUs
# (OpenMMLab's `8xb32`). With another GPU count, keep 256 in total or let
# `--auto-scale-lr` scale the learning rate (base_batch_size=256).
train_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=5,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
# The ImageNet test set has no public labels: the validation set is reported.
test_dataloader = val_dataloader
test_evaluator = val_evaluator
