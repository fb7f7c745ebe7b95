# DIST from the three teachers' averaged logits on Fashion-MNIST: pFEED-3's
# student, data, schedule and teachers, FEED terms off (weight 0), one DIST
# term against the ensemble (TeacherEnsembleLoss, feed_mm/zoo/baselines.py).
_base_ = ['../feed/pfeed_resnet20_3xresnet20_fmnist.py']

custom_imports = dict(imports=['feed_mm.zoo.baselines'],
                      allow_failed_imports=False)
_teachers = ('t0', 't1', 't2')
_logits = dict(type='ModuleOutputs', source='head.fc')
model = dict(
    teachers={name: dict(loss_weight=0.0) for name in _teachers},
    distiller=dict(
        student_recorders=dict(logits=_logits),
        teacher_recorders={name: dict(logits=_logits) for name in _teachers},
        distill_losses=dict(
            loss_dist=dict(type='TeacherEnsembleLoss', target='logits_T',
                           loss=dict(type='DISTLoss', **_base_.peer_dist))),
        loss_forward_mappings=dict(
            loss_dist=dict(
                logits_S=dict(recorder='logits', from_student=True),
                **{f'logits_T_{name}': dict(
                    recorder='logits', from_student=False,
                    from_teacher=name) for name in _teachers}))))
