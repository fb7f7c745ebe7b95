# The protocol of tools/demo.py: three ResNet-20 teachers on the full
# SklearnDigits training split (1,437 images), students on 30 images per
# class, so that the teachers know more than the students' data. Digits
# have no validation split: "val" is the test split here.
protocol = dict(
    title='SklearnDigits demo (ResNet-20; teachers on 1,437 images, '
    'students on 30 images per class)',
    metric='accuracy/top1',
    seeds=1,
    seed_base=1000,
    teachers=dict(
        label='teacher ResNet-20 (full split)',
        configs=[f'configs/teachers/digits_resnet20_s{s}.py'
                 for s in range(3)],
        epochs=10,
        cfg_options={'default_hooks.checkpoint.max_keep_ckpts': 1},
        # Their weights, trained by these configs, are committed: the demo
        # evaluates them instead of training (without the file, a new work
        # dir trains that teacher again).
        weights='configs/zoo/teachers'),
    # The teachers' schedule (warm-up + cosine) stretched to 30 epochs, in
    # batches of 16 at lr 0.05: with 300 images, batches of 64 at lr 0.1
    # gave 5 iterations per epoch and an evaluated student at chance for
    # 10 of 30 epochs while its training loss fell from epoch 5. Chosen on
    # the 1,137 training images outside the students' 300, never on the
    # test split (configs/feed/README.md, "Digits demo schedule").
    student_epochs=30,
    student_cfg_options={
        'train_dataloader.dataset.num_per_class': 30,
        'train_dataloader.batch_size': 16,
        'optim_wrapper.optimizer.lr': 0.05,
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'default_hooks.logger.interval': 5,
    },
    settings=[
        dict(name='student', label='student ResNet-20 alone',
             config='configs/teachers/digits_resnet20_s0.py'),
        dict(name='ft', label='FT: FEED, 1 teacher',
             config='configs/feed/ft_resnet20_resnet20_digits.py',
             teachers=['teacher:0']),
        dict(name='pfeed2', label='pFEED, 2 teachers',
             config='configs/feed/pfeed_resnet20_2xresnet20_digits.py',
             teachers=['teacher:0', 'teacher:1']),
        dict(name='pfeed3', label='pFEED, 3 teachers',
             config='configs/feed/pfeed_resnet20_3xresnet20_digits.py',
             teachers=['teacher:0', 'teacher:1', 'teacher:2']),
    ],
    baselines=['student', 'ft'],
)
