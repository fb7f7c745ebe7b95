# MMRazor's own Factor Transfer student side (SingleTeacherDistill +
# ConfigurableDistiller + Translator + FTLoss), on the same digits setting as
# ft_resnet20_resnet20_digits.py: the reference that FEED with one teacher
# reproduces, and the baseline of the benchmark.
_base_ = [
    '../_base_/models/digits_resnet20.py',
    '../_base_/datasets/sklearn_digits.py',
    '../_base_/schedules/digits_sgd_10e.py',
    '../_base_/default_runtime.py',
]
default_scope = 'mmrazor'
teacher_ckpt = 'work_dirs/teachers/digits_resnet20_s0'

model = dict(
    _delete_=True,
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=_base_.model,
    teacher=_base_.model,
    # MMRazor loads a checkpoint file; a work dir is resolved by feed_mm's
    # tools only for FEEDDistill teachers.
    teacher_ckpt=teacher_ckpt + '/epoch_10.pth',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='backbone')),
        connectors=dict(
            translator=dict(
                type='Translator', in_channel=64, out_channel=64,
                use_bn=False)),
        distill_losses=dict(loss_ft=dict(type='FTLoss', loss_weight=500.0)),
        loss_forward_mappings=dict(
            loss_ft=dict(
                s_feature=dict(
                    recorder='feat', from_student=True, data_idx=0,
                    connector='translator'),
                t_feature=dict(
                    recorder='feat', from_student=False, data_idx=0)))),
)
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
