# Parallel FEED with 3 teachers plus logit KD from the same teachers'
# averaged predictions, on Fashion-MNIST.
_base_ = ['./pfeed_resnet20_3xresnet20_fmnist.py']

model = dict(distiller=_base_.ensemble_kd)
