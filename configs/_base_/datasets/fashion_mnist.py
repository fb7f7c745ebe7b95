# Fashion-MNIST (60,000 training / 10,000 test real 28x28 grey images of
# clothing, 10 classes) through MMPretrain's FashionMNIST reader
# (feed_mm's CheckedFashionMNIST: says which file is missing, carves a
# validation split). Prepare the files once with
#     python tools/data/prepare_fashion_mnist.py
# Images stay 28x28 with one channel: the models take in_channels=1, and
# 28 halves cleanly to the 14 and 7 maps of a 3-stage CIFAR ResNet.
# Splits: 'train' = 55,000 (the official training images minus a fixed,
# class-balanced validation split of 500 per class), 'val' = those 5,000
# (recipe choices), 'test' = the official 10,000 (reported results).
dataset_type = 'mmpretrain.CheckedFashionMNIST'
data_root = 'data/fashion_mnist'
num_classes = 10

data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_classes,
    # Pixel statistics of the 60,000 training images (0..255).
    mean=[72.94],
    std=[90.02],
    to_rgb=False,
)

# The usual augmentation for clothing: shifts (2-pixel padded crops) and
# horizontal flips (garments are left-right symmetric, digits are not).
train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=28, padding=2),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=500,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
