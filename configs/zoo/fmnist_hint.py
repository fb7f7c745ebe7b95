# Better students from several teachers (configs/feed_hint/README.md), on
# the Fashion-MNIST CPU protocol (ResNet-20 students on 50 images per class,
# the committed teachers of set A, the student seeds of fmnist_cpu.py):
#   1. adapter x loss, one teacher: FEED's translator, with BatchNorm, or
#      FitNets' 1x1 conv + BN + ReLU, each with FEED's L1 or FitNets'
#      normalised squared L2, each at its weight chosen on val
#      (fmnist_hint_choice.py), beside today's FT and FitNets;
#   2. the multi-teacher forms: pFitNets-3, FitNets' adapter with FEED's L1
#      per teacher, pFEED-3 + FitNets(t0), AT from the three teachers,
#      beside pFEED-3; the best of them on val (pFitNets) with 2 and 5
#      teachers, its number-of-teachers curve beside pFEED's (teachers t3,
#      t4 are seeds 3 and 4).
# Every run keeps its loss terms per epoch ("What the losses do").
#     python tools/zoo.py configs/zoo/fmnist_hint.py --jobs 2 --threads 1
_base_ = ['./_base_/fmnist_hint_settings.py']

_cells = (('translator', 'translator'), ('translatorbn', 'translator + BN'),
          ('conv1x1', '1x1 conv + BN + ReLU'))
protocol = dict(
    title='Fashion-MNIST, adapter x loss and multi-teacher hints (ResNet-20 '
    'students on 50 images per class; teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=5,
    seed_base=1000,
    teachers=dict(
        groups=[
            dict(label=_base_.teachers_set_a['label'],
                 configs=_base_.teachers_set_a['configs']),
            dict(label='teacher ResNet-20, seeds 3-4 (for N = 5)',
                 configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                          for s in (3, 4)]),
        ],
        weights=_base_.teachers_set_a['weights']),
    settings=[
        _base_.student, _base_.ft, _base_.fitnets,
        *[dict(name=f'{adapter}_{loss}',
               label=f'{label}, {loss.upper()}, 1 teacher',
               config=f'configs/feed_hint/hint_{adapter}_{loss}_resnet20_'
               'resnet20_fmnist.py', teachers=['teacher:0'])
          for adapter, label in _cells for loss in ('l1', 'l2')],
        _base_.pfeed3, _base_.pfitnets3, _base_.pfeed3_conv1x1,
        _base_.pfeed3_fitnets, _base_.at3,
        *[dict(name=f'{method}{n}', label=f'{label}, {n} teachers',
               config=config.format(n=n),
               teachers=[f'teacher:{k}' for k in range(n)])
          for n in (2, 5)
          for method, label, config in (
              ('pfeed', 'pFEED',
               'configs/feed/pfeed_resnet20_{n}xresnet20_fmnist.py'),
              ('pfitnets', 'pFitNets (1x1 conv + BN + ReLU, L2, each)',
               'configs/feed_hint/hint_conv1x1_l2_resnet20_{n}xresnet20_'
               'fmnist.py'))]
    ],
    baselines=_base_.baselines,
    n_curve=dict(
        pFEED=['student', 'ft', 'pfeed2', 'pfeed3', None, 'pfeed5'],
        pFitNets=['student', 'conv1x1_l2', 'pfitnets2', 'pfitnets3', None,
                  'pfitnets5']),
)
