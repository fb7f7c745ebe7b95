# pFEED-3 plus FitNets' hint from teacher t0 (MMRazor's ConvModuleConnector
# and L2Loss on the map FEED reads, as configs/fitnets/ has it), in one
# config: the FEED terms of the three teachers and the hint beside them.
_base_ = ['./pfeed_resnet20_3xresnet20_fmnist.py']

_feature = dict(type='ModuleOutputs', source='backbone.layer3')
model = dict(
    distiller=dict(
        student_recorders=dict(feature=_feature),
        teacher_recorders=dict(t0=dict(feature=_feature)),
        connectors=dict(
            hint=dict(type='ConvModuleConnector', in_channel=64,
                      out_channel=64, norm_cfg=dict(type='BN'))),
        distill_losses=dict(
            loss_hint=dict(type='L2Loss',
                           loss_weight=_base_.hint_weights['conv1x1_l2'])),
        loss_forward_mappings=dict(
            loss_hint=dict(
                s_feature=dict(recorder='feature', from_student=True,
                               connector='hint'),
                t_feature=dict(recorder='feature', from_student=False,
                               from_teacher='t0')))))
