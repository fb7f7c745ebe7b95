# FEED on ImageNet, the paper's experimental setting: ResNet-34 student,
# ResNet-34 teachers trained alone by configs/teachers/imagenet_resnet34_s*.py
# (run those first). A teacher `ckpt` may be a checkpoint file or the
# teacher's work dir (its last checkpoint).
_base_ = [
    '../../_base_/models/imagenet_resnet34.py',
    '../../_base_/datasets/imagenet_bs256.py',
    '../../_base_/schedules/imagenet_bs256_100e.py',
    '../../_base_/default_runtime.py',
    './feed_recipe.py',
]

teacher_dirs = [f'work_dirs/teachers/imagenet_resnet34_s{seed}'
                for seed in range(3)]

model = dict(
    _base_.feed_model,
    _delete_=True,
    architecture=_base_.model,
    input_shape=(3, 224, 224))
default_scope = 'mmrazor'
# Student accuracy plus each teacher's (teacher.<name>.accuracy/top1).
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
# Students get seeds of their own, not any teacher's.
randomness = dict(seed=100)
