# The Fashion-MNIST student of the CPU protocol trained alone: ResNet-20 on
# the reduced, class-balanced training split with the student schedule. The
# FEED configs of this student (configs/feed/*_fmnist.py) inherit this file,
# so that the student alone and every distilled student see the same
# images, schedule and evaluation.
_base_ = [
    '../_base_/models/fmnist_resnet20.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/fmnist_recipe.py',
    '../_base_/default_runtime.py',
]
optim_wrapper = _base_.student_schedule.optim_wrapper
param_scheduler = _base_.student_schedule.param_scheduler
train_cfg = _base_.student_schedule.train_cfg
auto_scale_lr = _base_.student_schedule.auto_scale_lr
val_cfg = dict()
test_cfg = dict()
train_dataloader = dict(
    batch_size=_base_.student_batch_size,
    dataset=dict(num_per_class=_base_.student_num_per_class, subset_seed=0))
val_dataloader = dict(dataset=dict(split='val'))
default_hooks = dict(
    logger=dict(interval=4),
    # Only the last checkpoint is needed (it is the next generation's
    # teacher in sFEED); keep one for --resume.
    checkpoint=dict(interval=5, max_keep_ckpts=1))
randomness = dict(seed=1000)
work_dir = 'work_dirs/students/fmnist_resnet20'
