# Better students from several teachers, the data regime: the methods of
# configs/zoo/fmnist_hint.py on 500 training images per class (5,000), the
# CPU protocol's student recipe otherwise (batch 16, lr 0.05, 30 epochs),
# 5 seeds. configs/feed_hint/README.md: the table of method x regime.
#     python tools/zoo.py configs/zoo/fmnist_hint_500.py --jobs 2 --threads 1
_set_a = ['teacher:0', 'teacher:1', 'teacher:2']
protocol = dict(
    title='Fashion-MNIST, 500 images per class (ResNet-20 students; '
    'teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=5,
    seed_base=1000,
    teachers=dict(
        label='teacher ResNet-20, set A (seeds 0-2)',
        configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                 for s in range(3)],
        weights='configs/zoo/teachers'),
    student_cfg_options={'train_dataloader.dataset.num_per_class': 500},
    settings=[
        dict(name='student', label='student ResNet-20 alone',
             config='configs/students/fmnist_resnet20.py'),
        dict(name='ft', label='FT: FEED, 1 teacher',
             config='configs/feed/ft_resnet20_resnet20_fmnist.py',
             teachers=_set_a[:1]),
        dict(name='fitnets', label='FitNets, 1 teacher',
             config='configs/fitnets/fitnets_resnet20_resnet20_fmnist.py',
             teachers=_set_a[:1]),
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config='configs/feed/pfeed_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
        dict(name='pfitnets3', label='pFitNets, 3 teachers',
             config='configs/feed_hint/hint_conv1x1_l2_resnet20_3xresnet20_'
             'fmnist.py', teachers=_set_a),
        dict(name='at3', label='AT, 3 teachers',
             config='configs/at/at_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
        dict(name='kd3', label='logit KD, 3 teachers averaged',
             config='configs/kd/kd_resnet20_3xresnet20_fmnist.py',
             teachers=_set_a),
    ],
    baselines=['student', 'fitnets', 'pfeed3'],
)
