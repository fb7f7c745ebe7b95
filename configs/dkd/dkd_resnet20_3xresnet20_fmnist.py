# DKD from the three teachers' averaged logits on Fashion-MNIST: pFEED-3's
# student, data, schedule and teachers, FEED terms off (weight 0), one DKD
# term against the ensemble (TeacherEnsembleLoss, feed_mm/zoo/baselines.py).
_base_ = ['../feed/pfeed_resnet20_3xresnet20_fmnist.py']

custom_imports = dict(imports=['feed_mm.zoo.baselines'],
                      allow_failed_imports=False)
_teachers = ('t0', 't1', 't2')
_logits = dict(type='ModuleOutputs', source='head.fc')
model = dict(
    teachers={name: dict(loss_weight=0.0) for name in _teachers},
    distiller=dict(
        student_recorders=dict(
            logits=_logits,
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders={name: dict(logits=_logits) for name in _teachers},
        distill_losses=dict(
            loss_dkd=dict(type='TeacherEnsembleLoss', target='preds_T',
                          loss=dict(type='DKDLoss', **_base_.peer_dkd))),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(recorder='logits', from_student=True),
                gt_labels=dict(recorder='gt_labels', from_student=True,
                               data_idx=1),
                **{f'preds_T_{name}': dict(
                    recorder='logits', from_student=False,
                    from_teacher=name) for name in _teachers}))))
