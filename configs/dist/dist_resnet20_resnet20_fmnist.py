# Single-teacher DIST (MMRazor's DISTLoss: inter- and intra-class relations
# of the predictions) from teacher t0 on Fashion-MNIST: FT's student, data,
# schedule and teacher, with the FEED term off (weight 0: no translator).
_base_ = ['../feed/ft_resnet20_resnet20_fmnist.py']

_logits = dict(type='ModuleOutputs', source='head.fc')
model = dict(
    teachers=dict(t0=dict(loss_weight=0.0)),
    distiller=dict(
        student_recorders=dict(logits=_logits),
        teacher_recorders=dict(t0=dict(logits=_logits)),
        distill_losses=dict(
            loss_dist=dict(type='DISTLoss', **_base_.peer_dist)),
        loss_forward_mappings=dict(
            loss_dist=dict(
                logits_S=dict(recorder='logits', from_student=True),
                logits_T=dict(recorder='logits', from_student=False)))))
