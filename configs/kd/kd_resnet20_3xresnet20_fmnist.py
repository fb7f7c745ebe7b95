# The plain multi-teacher baseline of the Fashion-MNIST zoo: logit KD from
# the 3 teachers' averaged soft predictions, without FEED. Built on the
# pFEED-3 config so that the student, data, schedule and teachers are the
# same; its FEED terms are weighted 0 (teachers only the KD loss reads: no
# translators, no FEED terms).
_base_ = ['../feed/pfeed_resnet20_3xresnet20_fmnist.py']

model = dict(
    teachers=dict(
        t0=dict(loss_weight=0.0),
        t1=dict(loss_weight=0.0),
        t2=dict(loss_weight=0.0)),
    distiller=_base_.ensemble_kd)
