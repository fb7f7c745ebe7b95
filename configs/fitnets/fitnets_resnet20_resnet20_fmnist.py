# Single-teacher FitNets (MMRazor's ConvModuleConnector + L2Loss, as in its
# fitnets config) from teacher t0 on Fashion-MNIST, on the map FEED uses (the
# last stage's output): FT's student, data, schedule and teacher, with the
# FEED term off (weight 0: no translator) and the hint loss in its place.
_base_ = ['../feed/ft_resnet20_resnet20_fmnist.py']

_feature = dict(type='ModuleOutputs', source='backbone.layer3')
model = dict(
    teachers=dict(t0=dict(loss_weight=0.0)),
    distiller=dict(
        student_recorders=dict(feature=_feature),
        teacher_recorders=dict(t0=dict(feature=_feature)),
        connectors=dict(
            hint=dict(type='ConvModuleConnector', in_channel=64,
                      out_channel=64, norm_cfg=dict(type='BN'))),
        distill_losses=dict(
            loss_hint=dict(type='L2Loss',
                           loss_weight=_base_.peer_fitnets_loss_weight)),
        loss_forward_mappings=dict(
            loss_hint=dict(
                s_feature=dict(recorder='feature', from_student=True,
                               connector='hint'),
                t_feature=dict(recorder='feature', from_student=False)))))
