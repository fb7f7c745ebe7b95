# The Fashion-MNIST full protocol, the paper's setting for a GPU: the CPU
# protocol's settings (configs/zoo/fmnist_cpu.py),
# but the students train on the full 55,000-image training split too, with
# the teachers' batch, lr and a longer schedule
# (configs/_base_/schedules/fmnist_recipe.py, full_epochs). The main rows:
#     python tools/zoo.py configs/zoo/fmnist_full.py --device cuda \
#         --only student ft pfeed3 kd3 fitnets1
_base_ = ['./fmnist_cpu.py', '../_base_/schedules/fmnist_recipe.py']
protocol = dict(
    title='Fashion-MNIST, full protocol (ResNet-20; teachers and students '
    'on 55,000 images)',
    seeds=3,
    # Teachers of the full schedule, their weights kept apart from the CPU
    # protocol's.
    teachers=dict(epochs=_base_.full_epochs,
                  weights='configs/zoo/teachers_full'),
    student_epochs=_base_.full_epochs,
    student_cfg_options={
        'train_dataloader.dataset.num_per_class': None,
        'train_dataloader.batch_size': _base_.teacher_batch_size,
        'optim_wrapper.optimizer.lr': _base_.teacher_lr,
        'auto_scale_lr.base_batch_size': _base_.teacher_batch_size,
        # Validate every 5 epochs: the curves of the full runs.
        'train_cfg.val_interval': 5,
    })
