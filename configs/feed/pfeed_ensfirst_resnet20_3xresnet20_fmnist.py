# Ablation of pFEED-3 on Fashion-MNIST, "ensemble first": one translator
# (FEED's three convs) towards the average of the three teachers' normalised
# maps, || mean_n phi(F_tn) - phi(tau(F_s)) ||_1 with the same beta, instead
# of one translator and one term per teacher. The loss lives with the zoo
# (feed_mm/zoo/baselines.py); the per-teacher FEED terms are off (weight 0).
_base_ = ['./pfeed_resnet20_3xresnet20_fmnist.py']

custom_imports = dict(imports=['feed_mm.zoo.baselines'],
                      allow_failed_imports=False)
_teachers = ('t0', 't1', 't2')
# The map FEED reads: the output of ResNet-20's last stage, 64 channels.
_feature = dict(type='ModuleOutputs', source='backbone.layer3')
model = dict(
    teachers={name: dict(loss_weight=0.0) for name in _teachers},
    distiller=dict(
        student_recorders=dict(feature=_feature),
        teacher_recorders={name: dict(feature=_feature)
                           for name in _teachers},
        connectors=dict(
            translator=dict(
                _base_.feed_distiller.translator,
                in_channels=64, out_channels=64)),
        distill_losses=dict(
            loss_ensemble_feed=dict(
                type='EnsembleTargetFEEDLoss',
                loss_weight=_base_.feed_distiller.feed_loss.loss_weight)),
        loss_forward_mappings=dict(
            loss_ensemble_feed=dict(
                s_feature=dict(recorder='feature', from_student=True,
                               connector='translator'),
                **{f't_feature_{name}': dict(
                    recorder='feature', from_student=False,
                    from_teacher=name) for name in _teachers}))))
