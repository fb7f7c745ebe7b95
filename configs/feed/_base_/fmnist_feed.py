# FEED on Fashion-MNIST: the ResNet-20 student of configs/students/
# fmnist_resnet20.py (reduced split, student schedule) distilled from
# ResNet-20 teachers trained on the full training split by
# configs/teachers/fmnist_resnet20_s*.py, whose weights are committed in
# configs/zoo/teachers/.
_base_ = [
    '../../students/fmnist_resnet20.py',
    './feed_recipe.py',
]

# Relative to this file (MMEngine substitutes its directory), so the configs
# find the committed teachers from any working directory and through
# `feed_mm::` paths.
_teachers = '{{ fileDirname }}/../../zoo/teachers'
teacher_dirs = [f'{_teachers}/fmnist_resnet20_s{seed}.pth'
                for seed in range(6)]

model = dict(
    _base_.feed_model,
    _delete_=True,
    architecture=_base_.model,
    input_shape=(1, 28, 28))
default_scope = 'mmrazor'
# Student accuracy plus each teacher's (teacher.<name>.accuracy/top1).
val_cfg = dict(type='FEEDValLoop')
test_cfg = dict(type='FEEDTestLoop')
work_dir = None

# Logit KD from the three teachers t0, t1, t2 (MMRazor's KLDivergence on
# each teacher's logits, a third of the weight each), for the configs that
# use it (`model = dict(distiller=_base_.ensemble_kd)`). The mean of the
# per-teacher KL terms has the same gradient as one KL term against the
# teachers' averaged soft predictions (they differ by the teachers'
# entropies, constants): KD from the ensemble's averaged predictions
# (tests/test_models/test_losses.py checks the equality).
kd_teachers = ('t0', 't1', 't2')
logits = dict(type='ModuleOutputs', source='head.fc')
ensemble_kd = dict(
    student_recorders=dict(logits=logits),
    teacher_recorders={name: dict(logits=logits) for name in kd_teachers},
    distill_losses={
        f'loss_kd_{name}': dict(
            type='KLDivergence',
            tau=_base_.kd_tau,
            loss_weight=_base_.kd_loss_weight / len(kd_teachers))
        for name in kd_teachers
    },
    loss_forward_mappings={
        f'loss_kd_{name}': dict(
            preds_S=dict(recorder='logits', from_student=True),
            preds_T=dict(
                recorder='logits', from_student=False, from_teacher=name))
        for name in kd_teachers
    })
