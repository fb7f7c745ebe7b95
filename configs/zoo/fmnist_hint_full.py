# Better students from several teachers, the data regime: the methods of
# configs/zoo/fmnist_hint.py on the full training split (55,000 images),
# 3 seeds, on the schedule the teachers were trained with (chosen on val,
# configs/_base_/schedules/fmnist_recipe.py: batch 128, lr 0.1, 4 epochs,
# one of warm-up, cosine), which fits this machine: a student alone is a
# teacher's recipe with a student seed. configs/feed_hint/README.md: the
# table of method x regime.
#     python tools/zoo.py configs/zoo/fmnist_hint_full.py --jobs 2 --threads 1
_set_a = ['teacher:0', 'teacher:1', 'teacher:2']
protocol = dict(
    title='Fashion-MNIST, the full training split (ResNet-20 students and '
    'teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=3,
    seed_base=1000,
    teachers=dict(
        label='teacher ResNet-20, set A (seeds 0-2)',
        configs=[f'configs/teachers/fmnist_resnet20_s{s}.py'
                 for s in range(3)],
        weights='configs/zoo/teachers'),
    student_cfg_options={
        'train_dataloader.dataset.num_per_class': None,
        'train_dataloader.batch_size': 128,
        'optim_wrapper.optimizer.lr': 0.1,
        # A checkpoint per epoch: a killed run resumes within minutes.
        'default_hooks.checkpoint.interval': 1},
    student_epochs=4,
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
