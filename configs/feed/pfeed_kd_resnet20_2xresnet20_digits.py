# pFEED with 2 teachers plus MMRazor's logit KD (KLDivergence) on both
# teachers' logits, in one config: FEED terms and any MMRazor loss mix.
_base_ = ['./pfeed_resnet20_2xresnet20_digits.py']

logits = dict(type='ModuleOutputs', source='head.fc')
model = dict(
    distiller=dict(
        student_recorders=dict(logits=logits),
        teacher_recorders=dict(t0=dict(logits=logits), t1=dict(logits=logits)),
        distill_losses=dict(
            loss_kd_t0=dict(type='KLDivergence', tau=4, loss_weight=0.5),
            loss_kd_t1=dict(type='KLDivergence', tau=4, loss_weight=0.5)),
        loss_forward_mappings=dict(
            loss_kd_t0=dict(
                preds_S=dict(recorder='logits', from_student=True),
                preds_T=dict(
                    recorder='logits', from_student=False,
                    from_teacher='t0')),
            loss_kd_t1=dict(
                preds_S=dict(recorder='logits', from_student=True),
                preds_T=dict(
                    recorder='logits', from_student=False,
                    from_teacher='t1')))))
