# Attention transfer (MMRazor's ATLoss) from the three teachers t0, t1, t2
# on Fashion-MNIST, on the outputs of ResNet-20's three stages: one term per
# stage and teacher, each at AT's weight divided by the number of teachers
# (at3_loss_weight_ratio, chosen on val against the plain sum). pFEED-3's
# student, data, schedule and teachers, the FEED terms off (weight 0).
_base_ = ['../feed/pfeed_resnet20_3xresnet20_fmnist.py']

_stages = ('layer1', 'layer2', 'layer3')
_teachers = ('t0', 't1', 't2')
_recorders = {stage: dict(type='ModuleOutputs', source=f'backbone.{stage}')
              for stage in _stages}
model = dict(
    teachers={name: dict(loss_weight=0.0) for name in _teachers},
    distiller=dict(
        student_recorders=_recorders,
        teacher_recorders={name: _recorders for name in _teachers},
        distill_losses={
            f'loss_at_{stage}_{name}': dict(
                type='ATLoss',
                loss_weight=_base_.peer_at_loss_weight *
                _base_.at3_loss_weight_ratio)
            for stage in _stages for name in _teachers},
        loss_forward_mappings={
            f'loss_at_{stage}_{name}': dict(
                s_feature=dict(recorder=stage, from_student=True),
                t_feature=dict(recorder=stage, from_student=False,
                               from_teacher=name))
            for stage in _stages for name in _teachers}))
