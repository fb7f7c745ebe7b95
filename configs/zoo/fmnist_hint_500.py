# Better students from several teachers, the data regime: the methods of
# configs/zoo/fmnist_hint.py on 500 training images per class (5,000), the
# CPU protocol's student recipe otherwise (batch 16, lr 0.05, 30 epochs),
# 5 seeds. configs/feed_hint/README.md: the table of method x regime.
#     python tools/zoo.py configs/zoo/fmnist_hint_500.py --jobs 2 --threads 1
_base_ = ['./_base_/fmnist_hint_settings.py']

protocol = dict(
    title='Fashion-MNIST, 500 images per class (ResNet-20 students; '
    'teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=5,
    seed_base=1000,
    teachers=_base_.teachers_set_a,
    student_cfg_options={'train_dataloader.dataset.num_per_class': 500},
    settings=_base_.regime_settings,
    baselines=_base_.baselines,
)
