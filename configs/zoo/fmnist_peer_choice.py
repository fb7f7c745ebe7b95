# The recipe values of FEED's peers on Fashion-MNIST, chosen on the val
# split: for each method MMRazor's published values (its ImageNet configs)
# and the method paper's CIFAR values, one student seed (2000, none of the
# reported seeds), teacher t0 of configs/zoo/fmnist_cpu.py (its committed
# weights). The candidate with the higher val top-1 goes into
# configs/_base_/schedules/fmnist_recipe.py; the test column is not read.
# FT's beta gets the same treatment as a check of FEED's own value (500,
# Factor Transfer's): the FEED rows keep 500 unless another value wins.
#     python tools/zoo.py configs/zoo/fmnist_peer_choice.py
_k = 'model.distiller.distill_losses'
_beta = 'model.distiller.feed_loss.loss_weight'
_configs = dict(ft='configs/feed/ft_resnet20_resnet20_fmnist.py')
_candidates = [
    # name, config method, label, cfg_options
    ('ft_beta50', 'ft', 'FT, beta 50', {_beta: 50.0}),
    ('ft_beta500', 'ft', 'FT, beta 500 (Factor Transfer; FEED default)', {}),
    ('ft_beta5000', 'ft', 'FT, beta 5000', {_beta: 5000.0}),
    ('kd_mmrazor', 'kd', 'KD, tau 1, weight 3 (MMRazor)',
     {f'{_k}.loss_kd.tau': 1.0, f'{_k}.loss_kd.loss_weight': 3.0}),
    ('kd_hinton', 'kd', 'KD, tau 4, weight 1 (logit KD of this protocol)',
     {f'{_k}.loss_kd.tau': 4.0, f'{_k}.loss_kd.loss_weight': 1.0}),
    ('dkd_mmrazor', 'dkd', 'DKD, tau 1, beta 0.5 (MMRazor)',
     {f'{_k}.loss_dkd.tau': 1.0, f'{_k}.loss_dkd.beta': 0.5}),
    ('dkd_cifar', 'dkd', 'DKD, tau 4, beta 8 (DKD paper, CIFAR-100)',
     {f'{_k}.loss_dkd.tau': 4.0, f'{_k}.loss_dkd.beta': 8.0}),
    ('dist_mmrazor', 'dist', 'DIST, tau 1, inter/intra 1, weight 2 (MMRazor)',
     {f'{_k}.loss_dist.tau': 1.0, f'{_k}.loss_dist.inter_loss_weight': 1.0,
      f'{_k}.loss_dist.intra_loss_weight': 1.0,
      f'{_k}.loss_dist.loss_weight': 2.0}),
    ('dist_cifar', 'dist',
     'DIST, tau 4, inter/intra 2, weight 1 (DIST paper, CIFAR-100)',
     {f'{_k}.loss_dist.tau': 4.0, f'{_k}.loss_dist.inter_loss_weight': 2.0,
      f'{_k}.loss_dist.intra_loss_weight': 2.0,
      f'{_k}.loss_dist.loss_weight': 1.0}),
    ('fitnets_w10', 'fitnets', 'FitNets, weight 10 (MMRazor)',
     {f'{_k}.loss_hint.loss_weight': 10.0}),
    ('fitnets_w100', 'fitnets', 'FitNets, weight 100',
     {f'{_k}.loss_hint.loss_weight': 100.0}),
    ('at_w250', 'at', 'AT, weight 250 per stage (MMRazor)',
     {f'{_k}.loss_at_{s}.loss_weight': 250.0
      for s in ('layer1', 'layer2', 'layer3')}),
    ('at_w500', 'at', 'AT, weight 500 per stage (AT paper, beta 1000 / 2)',
     {f'{_k}.loss_at_{s}.loss_weight': 500.0
      for s in ('layer1', 'layer2', 'layer3')}),
]
protocol = dict(
    title='Fashion-MNIST peer recipes, chosen on val (1 seed, teacher t0)',
    metric='accuracy/top1',
    seeds=1,
    seed_base=2000,
    teachers=dict(
        label='teacher ResNet-20, set A, t0',
        configs=['configs/teachers/fmnist_resnet20_s0.py'],
        weights='configs/zoo/teachers'),
    settings=[
        dict(name=name, label=label, teachers=['teacher:0'],
             config=_configs.get(
                 method,
                 f'configs/{method}/{method}_resnet20_resnet20_fmnist.py'),
             cfg_options=options)
        for name, method, label, options in _candidates
    ],
)
