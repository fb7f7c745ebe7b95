# The settings the protocols of "Better students from several teachers"
# share (fmnist_hint.py, fmnist_hint_500.py, fmnist_hint_full.py): teacher
# set A and the methods every data regime runs, each from the committed
# teachers.
_set_a = ['teacher:0', 'teacher:1', 'teacher:2']
teachers_set_a = dict(
    label='teacher ResNet-20, set A (seeds 0-2)',
    configs=[f'configs/teachers/fmnist_resnet20_s{s}.py' for s in range(3)],
    weights='configs/zoo/teachers')
student = dict(name='student', label='student ResNet-20 alone',
               config='configs/students/fmnist_resnet20.py')
ft = dict(name='ft', label='FT: FEED, 1 teacher (beta 500)',
          config='configs/feed/ft_resnet20_resnet20_fmnist.py',
          teachers=_set_a[:1])
fitnets = dict(name='fitnets', label='FitNets, 1 teacher (MMRazor config)',
               config='configs/fitnets/fitnets_resnet20_resnet20_fmnist.py',
               teachers=_set_a[:1])
pfeed3 = dict(name='pfeed3', label='pFEED, 3 teachers',
              config='configs/feed/pfeed_resnet20_3xresnet20_fmnist.py',
              teachers=_set_a)
pfitnets3 = dict(
    name='pfitnets3',
    label='pFitNets, 3 teachers (1x1 conv + BN + ReLU, L2, each)',
    config='configs/feed_hint/hint_conv1x1_l2_resnet20_3xresnet20_fmnist.py',
    teachers=_set_a)
pfeed3_conv1x1 = dict(
    name='pfeed3_conv1x1',
    label='pFEED-3 frame, 1x1 conv + BN + ReLU, L1, each',
    config='configs/feed_hint/hint_conv1x1_l1_resnet20_3xresnet20_fmnist.py',
    teachers=_set_a)
pfeed3_fitnets = dict(
    name='pfeed3_fitnets', label='pFEED, 3 teachers + FitNets(t0)',
    config='configs/feed/pfeed_fitnets_resnet20_3xresnet20_fmnist.py',
    teachers=_set_a)
at3 = dict(name='at3', label='AT, 3 teachers',
           config='configs/at/at_resnet20_3xresnet20_fmnist.py',
           teachers=_set_a)
kd3 = dict(name='kd3', label='logit KD, 3 teachers averaged',
           config='configs/kd/kd_resnet20_3xresnet20_fmnist.py',
           teachers=_set_a)
# The methods of the data regimes.
regime_settings = [student, ft, fitnets, pfeed3, pfitnets3, at3, kd3]
baselines = ['student', 'fitnets', 'pfeed3']
