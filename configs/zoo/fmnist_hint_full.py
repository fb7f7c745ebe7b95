# Better students from several teachers, the data regime: the methods of
# configs/zoo/fmnist_hint.py on the full training split (55,000 images),
# 3 seeds, on the schedule the teachers were trained with (chosen on val,
# configs/_base_/schedules/fmnist_recipe.py: batch 128, lr 0.1, 4 epochs,
# one of warm-up, cosine), which fits this machine: a student alone is a
# teacher's recipe with a student seed. configs/feed_hint/README.md: the
# table of method x regime.
#     python tools/zoo.py configs/zoo/fmnist_hint_full.py --jobs 2 --threads 1
_base_ = [
    './_base_/fmnist_hint_settings.py',
    './_base_/fmnist_full_split.py',
]

protocol = dict(
    title='Fashion-MNIST, the full training split (ResNet-20 students and '
    'teachers on 55,000 images)',
    metric='accuracy/top1',
    seeds=3,
    seed_base=1000,
    teachers=_base_.teachers_set_a,
    student_cfg_options=_base_.full_split_options,
    student_epochs=_base_.full_split_epochs,
    settings=_base_.regime_settings,
    baselines=_base_.baselines,
)
