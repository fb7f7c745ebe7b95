# Single-teacher DKD (decoupled KD, MMRazor's DKDLoss) from teacher t0 on
# Fashion-MNIST: FT's student, data, schedule and teacher, with the FEED term
# off (weight 0: no translator) and DKD in its place.
_base_ = ['../feed/ft_resnet20_resnet20_fmnist.py']

_logits = dict(type='ModuleOutputs', source='head.fc')
model = dict(
    teachers=dict(t0=dict(loss_weight=0.0)),
    distiller=dict(
        student_recorders=dict(
            logits=_logits,
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(t0=dict(logits=_logits)),
        distill_losses=dict(
            loss_dkd=dict(type='DKDLoss', **_base_.peer_dkd)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(recorder='logits', from_student=True),
                preds_T=dict(recorder='logits', from_student=False),
                gt_labels=dict(recorder='gt_labels', from_student=True,
                               data_idx=1)))))
