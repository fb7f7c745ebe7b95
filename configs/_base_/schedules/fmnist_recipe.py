# Every value of the Fashion-MNIST protocols in one place (teachers,
# students, the reduced split, logit KD), so that a change is one edit.
# FEED's own values (beta, translator, loss) are in
# configs/feed/_base_/feed_recipe.py. Chosen on the validation split
# (configs/feed/README.md, "Fashion-MNIST"), never on the test split.

# Optimizer of the CIFAR recipe (Factor Transfer's official code).
momentum = 0.9
weight_decay = 5e-4

# Teachers: the 55,000 training images, batch 128, lr 0.1, one epoch of
# linear warm-up then cosine decay to 0 (they learn from the first epoch).
teacher_epochs = 4
teacher_batch_size = 128
teacher_lr = 0.1

# Students of the CPU protocol: a fixed, class-balanced subset of the
# training split (drawn with seed 0, the same for every run). Batch 16, lr
# 0.05, one warm-up epoch: chosen on the val split among 5 schedules
# (configs/feed/README.md, "Fashion-MNIST student schedule"); in batches of
# 64 the student read chance on val at epochs 4-5.
student_num_per_class = 50
student_epochs = 30
student_batch_size = 16
student_lr = 0.05
student_warmup_epochs = 1

# The full protocol (configs/zoo/fmnist_full.py, for a GPU): teachers and
# students on the full training split, the teachers' batch and lr.
full_epochs = 30

# Logit KD (beside FEED, or alone from the teachers' averaged predictions).
kd_tau = 4.0
kd_loss_weight = 1.0


def _warmup_cosine(warmup_epochs, max_epochs):
    return [
        dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0,
             end=warmup_epochs, convert_to_iter_based=True),
        dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs,
             end=max_epochs, eta_min=0.0, convert_to_iter_based=True),
    ]


teacher_schedule = dict(
    optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=teacher_lr, momentum=momentum,
                       weight_decay=weight_decay, nesterov=True)),
    param_scheduler=_warmup_cosine(1, teacher_epochs),
    train_cfg=dict(by_epoch=True, max_epochs=teacher_epochs, val_interval=1),
    auto_scale_lr=dict(base_batch_size=teacher_batch_size),
)
student_schedule = dict(
    optim_wrapper=dict(
        optimizer=dict(type='SGD', lr=student_lr, momentum=momentum,
                       weight_decay=weight_decay, nesterov=True)),
    param_scheduler=_warmup_cosine(student_warmup_epochs, student_epochs),
    train_cfg=dict(by_epoch=True, max_epochs=student_epochs,
                   val_interval=student_epochs),
    auto_scale_lr=dict(base_batch_size=student_batch_size),
)

# The peers of FEED (configs/{kd,dkd,dist,fitnets,at}/*_fmnist.py): MMRazor's
# losses, each with the better on the val split of two candidates, the
# values of MMRazor's own configs (configs/distill/mmcls/, ImageNet) and of
# the method's paper for CIFAR (configs/zoo/fmnist_peer_choice.py, one seed;
# configs/feed/README.md, "Peer recipes").
peer_kd = dict(tau=4.0, loss_weight=1.0)  # MMRazor's tau 1, weight 3: -0.08
peer_dkd = dict(tau=1.0, alpha=1.0, beta=0.5, loss_weight=1.0)  # MMRazor's
peer_dist = dict(tau=1.0, inter_loss_weight=1.0, intra_loss_weight=1.0,
                 loss_weight=2.0)  # MMRazor's
peer_fitnets_loss_weight = 100.0  # MMRazor's 10: -1.70 on val
peer_at_loss_weight = 500.0  # AT's beta / 2; MMRazor's 250: -0.32 on val

# FEED's frame carrying FitNets' parts (configs/feed_hint/): the loss weight
# of each adapter x loss cell, the best mean val top-1 of a log grid over 2
# seeds, none at the grid's edge (configs/zoo/fmnist_hint_choice.py;
# configs/feed/results/fmnist_hint_choice.md).
hint_weights = dict(
    translator_l1=1600.0,  # 84.96 on val; 500 (FT's beta): 84.26
    translatorbn_l1=1600.0,
    conv1x1_l1=5000.0,
    translator_l2=10.0,
    translatorbn_l2=10.0,
    conv1x1_l2=32.0)  # 88.41 on val; 100 (FitNets' config): 88.40
# AT from three teachers (configs/at/at_resnet20_3xresnet20_fmnist.py): each
# of its 9 terms at peer_at_loss_weight times this ratio, 1/3 (the mean over
# teachers) or 1 (the sum), chosen on val.
at3_loss_weight_ratio = 1 / 3
