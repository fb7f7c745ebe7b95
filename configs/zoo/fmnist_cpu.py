# The Fashion-MNIST CPU protocol: ResNet-20 teachers on the 55,000 training
# images, then every student setting on the reduced class-balanced split
# (configs/_base_/schedules/fmnist_recipe.py): FEED against the student
# alone, logit KD and MMRazor's peers, FEED's ablations, the number of
# teachers and heterogeneous teachers. Run it (resumable) with
#     python tools/zoo.py configs/zoo/fmnist_cpu.py
# The teachers' weights-only checkpoints are committed in
# configs/zoo/teachers/: they are evaluated, not retrained (without the
# file, a new work dir trains that teacher again).
_fmnist_ft = 'configs/feed/ft_resnet20_resnet20_fmnist.py'
_pfeed3 = 'configs/feed/pfeed_resnet20_3xresnet20_fmnist.py'
_kd3 = 'configs/kd/kd_resnet20_3xresnet20_fmnist.py'
_set_a = ['teacher:0', 'teacher:1', 'teacher:2']
_set_b = ['teacher:3', 'teacher:4', 'teacher:5']
# The replication core runs 10 seeds, every other setting 5.
_other_seeds = 5
_sfeed_seeds = 3
protocol = dict(
    title='Fashion-MNIST, CPU protocol (ResNet-20 students on 50 images '
    'per class; teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=10,
    # Student seeds (1000 + seed) differ from the teachers' (0..5).
    seed_base=1000,
    teachers=dict(
        groups=[
            dict(label='teacher ResNet-20, set A (seeds 0-2)',
                 configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                          for s in range(3)]),
            dict(label='teacher ResNet-20, set B (seeds 3-5)',
                 configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                          for s in range(3, 6)]),
            # The heterogeneous teachers: one row per architecture.
            dict(label='teacher WRN-16-2 (seed 0)',
                 configs=['configs/teachers/fmnist_wrn16_2.py']),
            dict(label='teacher ResNet-56 (seed 0)',
                 configs=['configs/teachers/fmnist_resnet56.py']),
        ],
        weights='configs/zoo/teachers'),
    settings=[
        # The replication core, teacher set A (10 seeds).
        dict(name='student', label='student ResNet-20 alone',
             config='configs/students/fmnist_resnet20.py'),
        dict(name='ft', label='FT: FEED, 1 teacher', config=_fmnist_ft,
             teachers=_set_a[:1], pool='ft'),
        dict(name='pfeed2', label='pFEED, 2 teachers',
             config='configs/feed/pfeed_resnet20_2xresnet20_fmnist.py',
             teachers=_set_a[:2]),
        dict(name='pfeed3', label='pFEED, 3 teachers', config=_pfeed3,
             teachers=_set_a, pool='pfeed3'),
        dict(name='kd3', label='logit KD, 3 teachers averaged (no FEED)',
             config=_kd3, teachers=_set_a, pool='kd3'),
        dict(name='pfeed3_kd', label='pFEED, 3 teachers + logit KD',
             config='configs/feed/pfeed_kd_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
        # The same methods from teacher set B (10 seeds).
        dict(name='ft_b', label='FT, teacher set B', config=_fmnist_ft,
             teachers=_set_b[:1], pool='ft'),
        dict(name='pfeed3_b', label='pFEED, 3 teachers, set B',
             config=_pfeed3, teachers=_set_b, pool='pfeed3'),
        dict(name='kd3_b', label='logit KD, 3 teachers averaged, set B',
             config=_kd3, teachers=_set_b, pool='kd3'),
        # MMRazor's single-teacher methods from teacher 0 (FT is FEED's).
        *[dict(name=f'{method}1', label=f'{label}, 1 teacher',
               config=f'configs/{method}/{method}_resnet20_resnet20_fmnist.py',
               teachers=_set_a[:1], seeds=_other_seeds)
          for method, label in (('kd', 'logit KD'), ('dkd', 'DKD'),
                                ('dist', 'DIST'), ('fitnets', 'FitNets'),
                                ('at', 'AT'))],
        # Their multi-teacher variants, from the teachers' averaged logits.
        *[dict(name=f'{method}3', label=f'{label}, 3 teachers averaged',
               config=f'configs/{method}/{method}_resnet20_3xresnet20_fmnist'
               '.py', teachers=_set_a, seeds=_other_seeds)
          for method, label in (('dkd', 'DKD'), ('dist', 'DIST'))],
        # FEED's ablations.
        dict(name='pfeed3_linear',
             label='pFEED-3 ablation: linear 1x1 translators',
             config='configs/feed/pfeed_linear_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a, seeds=_other_seeds),
        dict(name='pfeed3_ensfirst',
             label='pFEED-3 ablation: ensemble first (one translator)',
             config='configs/feed/'
             'pfeed_ensfirst_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a, seeds=_other_seeds),
        # The number of teachers, N = 4 and 5 (teachers 3 and 4 of set B).
        *[dict(name=f'pfeed{n}', label=f'pFEED, {n} teachers',
               config=f'configs/feed/pfeed_resnet20_{n}xresnet20_fmnist.py',
               teachers=(_set_a + _set_b)[:n], seeds=_other_seeds)
          for n in (4, 5)],
        dict(name='pfeed3_hetero',
             label='pFEED, 3 teachers: ResNet-20, WRN-16-2, ResNet-56',
             config='configs/feed/pfeed_resnet20_hetero_fmnist.py',
             teachers=['teacher:0', 'teacher:6', 'teacher:7'],
             seeds=_other_seeds),
        # Sequential FEED: generation 1 learns from the student alone
        # (generation 0, same seed), generation g from generation g - 1;
        # each generation starts from a fresh initialisation (its own seed).
        *[dict(name=f'sfeed_g{g}',
               label=f'sFEED generation {g} (teacher: ' +
               ('student alone)' if g == 1 else f'generation {g - 1})'),
               config=_fmnist_ft,
               teachers=['run:student' if g == 1 else f'run:sfeed_g{g - 1}'],
               seeds=_sfeed_seeds, seed_offset=100 * g)
          for g in (1, 2, 3)],
    ],
    baselines=['student', 'ft', 'pfeed3'],
    n_curve=['student', 'ft', 'pfeed2', 'pfeed3', 'pfeed4', 'pfeed5'],
)
