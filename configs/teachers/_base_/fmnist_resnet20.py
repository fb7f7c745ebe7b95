# Fashion-MNIST ResNet-20 trained alone on the 55,000 training images: the
# teachers of the Fashion-MNIST FEED configs. Validated on the held-out
# validation split during training; the zoo reports the test split. The
# per-seed files (fmnist_resnet20_s{0,1,2}.py) only set seed and work dir.
_base_ = [
    '../../_base_/models/fmnist_resnet20.py',
    '../../_base_/datasets/fashion_mnist.py',
    '../../_base_/schedules/fmnist_recipe.py',
    '../../_base_/default_runtime.py',
]
optim_wrapper = _base_.teacher_schedule.optim_wrapper
param_scheduler = _base_.teacher_schedule.param_scheduler
train_cfg = _base_.teacher_schedule.train_cfg
auto_scale_lr = _base_.teacher_schedule.auto_scale_lr
val_cfg = dict()
test_cfg = dict()
train_dataloader = dict(batch_size=_base_.teacher_batch_size)
val_dataloader = dict(dataset=dict(split='val'))
default_hooks = dict(logger=dict(interval=50))
