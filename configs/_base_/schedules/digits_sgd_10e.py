# A short SGD schedule for SklearnDigits on CPU, with the CIFAR recipe's
# optimizer settings (Factor Transfer's official code). One epoch of linear
# warm-up, then cosine decay to 0: with few iterations per epoch a constant
# lr of 0.1 kept the BN running statistics behind the weights and the
# evaluated model at chance for half of a run. With warm-up + cosine the
# teachers learn from the first epochs. The demo's students (300 images)
# also train in batches of 16 at lr 0.05 (configs/zoo/digits_demo.py).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=10,
         eta_min=0.0, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
