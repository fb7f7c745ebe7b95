# pFEED on SklearnDigits: ResNet-20 student, ResNet-20 teachers trained by
# configs/teachers/digits_resnet20_s*.py, whose weights are committed in
# configs/zoo/teachers/. A teacher `ckpt` may be a checkpoint file, a
# teacher's work dir (its last checkpoint) or a URL.
_base_ = [
    '../../_base_/models/digits_resnet20.py',
    '../../_base_/datasets/sklearn_digits.py',
    '../../_base_/schedules/digits_sgd_10e.py',
    '../../_base_/default_runtime.py',
    './feed_recipe.py',
]

# Relative to this file (MMEngine substitutes its directory), so the configs
# find the committed teachers from any working directory and through
# `feed_mm::` paths.
_teachers = '{{ fileDirname }}/../../zoo/teachers'
teacher_dirs = [f'{_teachers}/digits_resnet20_s{seed}.pth'
                for seed in range(3)]

model = dict(
    _base_.feed_model,
    _delete_=True,
    architecture=_base_.model,
    input_shape=(3, 32, 32))
default_scope = 'mmrazor'
# Student accuracy plus each teacher's (teacher.<name>.accuracy/top1).
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
randomness = dict(seed=100)
