# scikit-learn's bundled digits (1,797 real images, 10 classes) as 32x32 RGB:
# the data set that needs no download. Fixed split: every 5th image is a
# test image (1,437 train / 360 test), see feed_mm.datasets.SklearnDigits.
dataset_type = 'mmpretrain.SklearnDigits'
num_classes = 10

data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=num_classes,
    # Pixel statistics of the whole set after scaling to 0..255.
    mean=[77.84, 77.84, 77.84],
    std=[82.53, 82.53, 82.53],
    to_rgb=False,
)

# Digits are not mirror-symmetric: shifts only, no flips.
train_pipeline = [
    dict(type='mmpretrain.RandomCrop', crop_size=32, padding=2),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [dict(type='mmpretrain.PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator
