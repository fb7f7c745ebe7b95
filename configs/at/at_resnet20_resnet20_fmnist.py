# Single-teacher attention transfer (MMRazor's ATLoss) from teacher t0 on
# Fashion-MNIST, on the outputs of ResNet-20's three stages as in AT's own
# recipe: FT's student, data, schedule and teacher, with the FEED term off
# (weight 0: no translator) and AT in its place.
_base_ = ['../feed/ft_resnet20_resnet20_fmnist.py']

_stages = ('layer1', 'layer2', 'layer3')
model = dict(
    teachers=dict(t0=dict(loss_weight=0.0)),
    distiller=dict(
        student_recorders={
            stage: dict(type='ModuleOutputs', source=f'backbone.{stage}')
            for stage in _stages},
        teacher_recorders=dict(t0={
            stage: dict(type='ModuleOutputs', source=f'backbone.{stage}')
            for stage in _stages}),
        distill_losses={
            f'loss_at_{stage}': dict(type='ATLoss',
                                     loss_weight=_base_.peer_at_loss_weight)
            for stage in _stages},
        loss_forward_mappings={
            f'loss_at_{stage}': dict(
                s_feature=dict(recorder=stage, from_student=True),
                t_feature=dict(recorder=stage, from_student=False))
            for stage in _stages}))
