# The other common CIFAR recipe: Factor Transfer's optimizer over 200 epochs
# with the lr drops at half and three quarters of training.
_base_ = ['./cifar100_ft_164e.py']

param_scheduler = dict(milestones=[100, 150])
train_cfg = dict(max_epochs=200)
