"""Integration: the real MMEngine runner on the real digits data, through
tools/train.py and tools/test.py as a user runs them."""
import glob
import os.path as osp

import torch

from tests.helpers import TINY, call_tool, train_in_process

FEED_2T = 'configs/feed/pfeed_resnet20_2xresnet20_digits.py'


def _teacher_options(teachers):
    return [f'model.teachers.t{i}.ckpt={path}'
            for i, path in enumerate(teachers)]


def test_plain_training_writes_runner_checkpoints(digits_teachers):
    ckpt = osp.join(digits_teachers[0], 'epoch_1.pth')
    assert osp.isfile(ckpt)
    assert osp.isfile(osp.join(digits_teachers[0], 'last_checkpoint'))
    # A full runner checkpoint: weights plus meta and message hub.
    from feed_mm.utils.checkpoint import safe_load
    content = safe_load(ckpt)
    assert {'state_dict', 'meta', 'message_hub'} <= set(content)


def test_feed_two_teachers_trains_logs_terms_and_resumes(
        digits_teachers, tmp_path):
    work_dir = str(tmp_path / 'feed')
    base = [FEED_2T, '--work-dir', work_dir, '--cfg-options', *TINY,
            *_teacher_options(digits_teachers)]
    result = call_tool('tools/train.py', *base)
    assert result.returncode == 0, result.stderr[-3000:]
    log = result.stdout + result.stderr
    for term in ('student.loss', 'distill.loss_feed_t0',
                 'distill.loss_feed_t1', 'teacher.t0.accuracy/top1',
                 'teacher.t1.accuracy/top1', 'accuracy/top1'):
        assert term in log, term
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    keys = state['state_dict'].keys()
    assert any(k.startswith('distiller.translators.t1.') for k in keys)
    assert not any(k.startswith('teachers.') for k in keys)

    resumed = call_tool('tools/train.py', *base, 'train_cfg.max_epochs=2',
                        '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))

    tested = call_tool('tools/test.py', FEED_2T, ckpt, '--work-dir',
                       str(tmp_path / 'test'), '--cfg-options', *TINY,
                       *_teacher_options(digits_teachers))
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert 'teacher.t1.accuracy/top1' in tested.stdout + tested.stderr


def test_mmrazor_single_teacher_ft_trains_through_runner(
        digits_teachers, tmp_path):
    work_dir = train_in_process(
        'configs/feed/ft_mmrazor_resnet20_resnet20_digits.py',
        str(tmp_path / 'mmrazor_ft'),
        [f'model.teacher_ckpt={digits_teachers[0]}/epoch_1.pth'])
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    logs = glob.glob(osp.join(work_dir, '*', '*.log'))
    assert logs and 'distill.loss_ft' in open(logs[0]).read()


def _assert_clear_error(result, *fragments):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr[-2000:])


def test_unknown_teacher_option_is_named(digits_teachers, tmp_path):
    result = call_tool('tools/train.py', FEED_2T, '--work-dir',
                       str(tmp_path), '--cfg-options', *TINY,
                       *_teacher_options(digits_teachers),
                       'model.teachers.t1.wieght=2')
    _assert_clear_error(result, 'model.teachers.t1.wieght')


def test_unknown_loop_key_is_named(digits_teachers, tmp_path):
    result = call_tool('tools/train.py',
                       'configs/teachers/digits_resnet20_s0.py', '--work-dir',
                       str(tmp_path), '--cfg-options', *TINY,
                       'train_cfg.max_epoch=3')
    _assert_clear_error(result, 'max_epoch')


def test_missing_teacher_checkpoint_is_named(tmp_path):
    result = call_tool('tools/train.py', FEED_2T, '--work-dir',
                       str(tmp_path), '--cfg-options', *TINY,
                       f'model.teachers.t0.ckpt={tmp_path}/nope.pth')
    _assert_clear_error(result, 'model.teachers.t0.ckpt', 'nope.pth')


def test_missing_config_file_is_clear(tmp_path):
    result = call_tool('tools/train.py', 'configs/feed/no_such_config.py')
    _assert_clear_error(result, 'no_such_config.py')


def test_compile_option_goes_to_feed(digits_teachers, tmp_path):
    from feed_mm.apis.cli import load_config
    cfg = load_config(FEED_2T, str(tmp_path), dict(compile=True), 'none')
    assert cfg.model.compile is True and cfg.compile is None
    teacher = load_config('configs/teachers/digits_resnet20_s0.py',
                          str(tmp_path), dict(compile=True), 'none')
    assert teacher.compile is True and 'compile' not in teacher.model


def test_compiled_feed_trains_and_resumes(digits_teachers, tmp_path, capfd):
    # 100 samples in batches of 64: a last partial batch of 36.
    work_dir = str(tmp_path / 'compiled')
    options = ['train_dataloader.dataset.indices=100', 'compile.backend=eager',
               *_teacher_options(digits_teachers)]
    train_in_process(FEED_2T, work_dir, [*options, 'train_cfg.max_epochs=2'])
    state = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu',
                       weights_only=False)['state_dict']
    assert not any('_orig_mod' in key for key in state)
    assert any(key.startswith('distiller.translators.t1.') for key in state)
    train_in_process(FEED_2T, work_dir,
                     [*options, 'train_cfg.max_epochs=3', 'resume=True'])
    log = capfd.readouterr()
    assert 'recompile_limit' not in log.out + log.err
    assert 'resumed epoch: 2' in log.out + log.err
    assert osp.isfile(osp.join(work_dir, 'epoch_3.pth'))


def tiny_imagenet(root) -> dict:
    """Four random JPEGs in ImageNet's folder layout, two classes: the data
    set options of the guide's zoo configs."""
    import cv2
    import numpy as np
    for i, wnid in enumerate(('n01440764', 'n01443537')):
        folder = root / 'imagenet' / 'train' / wnid
        folder.mkdir(parents=True)
        for j in range(2):
            image = np.random.default_rng(2 * i + j).integers(
                0, 255, (80, 96, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / f'{j}.JPEG'), image)
    return dict(data_root=str(root / 'imagenet'), data_prefix='train',
                metainfo=dict(classes=('tench', 'goldfish')))


def train_zoo_config(config, tmp_path, teacher_files=None, validate=False):
    """Two iterations of a guide's zoo config at 224 on the tiny folder, its
    teachers' weights random (or from ``teacher_files``, standing in for the
    released files); returns the runner."""
    from mmengine.runner import Runner

    from feed_mm.apis import load_config
    dataset = tiny_imagenet(tmp_path)
    loader = {f'{split}_dataloader.{key}': value
              for split in ('train', 'val')
              for key, value in (('dataset', dataset), ('batch_size', 2),
                                 ('num_workers', 0))}
    cfg = load_config(config, str(tmp_path / 'work'), {
        **loader, 'train_cfg.max_epochs': 1,
        'model.allow_random_teachers': True,
        'default_hooks.logger.interval': 1}, 'none')
    assert tuple(cfg.model.input_shape) == (3, 224, 224)
    teacher_files = teacher_files or {}
    cfg.model.teachers = {
        name: dict(model=model, ckpt=teacher_files.get(name))
        for name, model in cfg.model.teachers.items()}
    if not validate:
        for key in ('val_cfg', 'val_dataloader', 'val_evaluator'):
            cfg[key] = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    return runner


def feed_terms(runner, teachers) -> dict:
    import numpy as np
    terms = {name: runner.message_hub.get_scalar(
        f'train/distill.loss_feed_{name}').current() for name in teachers}
    assert all(np.isfinite(v) and v > 0 for v in terms.values()), terms
    return terms


def logged_maps(runner) -> list:
    with open(runner.logger._log_file) as f:
        return [line.split('INFO - ')[1].strip() for line in f
                if 'FEED map of' in line]


def test_zoo_teachers_of_three_families_train_at_224(tmp_path):
    """The guide's config: a MobileNetV2 student and ResNet-50, Swin-T and
    ConvNeXt-T teachers by their MMPretrain names, inheriting the recipe,
    no feature location and no input shape written."""
    runner = train_zoo_config(
        'configs/guide/pfeed_zoo_mobilenetv2_3teachers_imagenet.py',
        tmp_path)
    feed_terms(runner, ('r50', 'swin', 'convnext'))
    sources = {name: location.source for name, location in
               runner.model.distiller.teacher_locations.items()}
    assert sources == dict(r50='backbone', swin='backbone',
                           convnext='backbone.stages.3')


def test_vision_transformer_teachers_by_name_train_a_resnet(tmp_path):
    """DeiT-S and DINOv2 ViT-S teachers by name (their weights from files,
    as the released ones would be) train a ResNet-18: their maps are their
    tokens on the 224 px patch grid, logged; validation reports the DeiT
    teacher's accuracy and says why DINOv2 (no head) has none."""
    import mmpretrain
    teacher_files = {}
    for name, model in (('deit', 'deit-small_4xb256_in1k'),
                        ('dinov2', 'vit-small-p14_dinov2-pre_3rdparty')):
        path = tmp_path / f'{name}.pth'
        torch.save(dict(state_dict=mmpretrain.get_model(model).state_dict()),
                   path)
        teacher_files[name] = str(path)
    runner = train_zoo_config(
        'configs/guide/pfeed_zoo_resnet18_deit_dinov2_imagenet.py', tmp_path,
        teacher_files, validate=True)
    feed_terms(runner, ('deit', 'dinov2'))
    assert logged_maps(runner) == [
        "FEED map of the student: 'backbone', shape (2, 512, 7, 7)",
        "FEED map of teacher 'deit': 'backbone.ln1', shape (2, 384, 14, 14)",
        "FEED map of teacher 'dinov2': 'backbone.ln1', shape "
        '(2, 384, 16, 16)']
    metrics = runner.val_loop.run()
    assert 'teacher.deit.accuracy/top1' in metrics
    assert not any(key.startswith('teacher.dinov2') for key in metrics)
    with open(runner.logger._log_file) as f:
        assert f.read().count("Teacher 'dinov2' has no classification head")\
            == 1


def test_vision_transformer_student_from_a_resnet_teacher(tmp_path):
    """The roles turned: a DeiT-T student by name learns from a ResNet-50
    teacher; its map is its 14x14 tokens, the teacher's 7x7 map resized."""
    runner = train_zoo_config(
        'configs/guide/ft_zoo_deit_tiny_resnet50_imagenet.py', tmp_path)
    feed_terms(runner, ('r50', ))
    assert logged_maps(runner)[0] == (
        "FEED map of the student: 'backbone.ln1', shape (2, 192, 14, 14)")
