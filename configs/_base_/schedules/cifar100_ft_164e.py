# Factor Transfer's official CIFAR recipe (FEED's own schedule is not known
# offline: the paper could not be read here). The translators are
# optimised with the same settings, so one optimizer covers the whole model.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[82, 123], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=164, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for a batch of 128 (one GPU).
auto_scale_lr = dict(base_batch_size=128)
