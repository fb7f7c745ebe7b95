"""teacher_autocast='auto', the FEED recipe's fast default: the precision
per device, and the deviation of the FEED loss from full precision on the
real digits images."""
import os.path as osp
import platform

import torch
from mmengine.config import Config

import feed_mm  # noqa: F401
from feed_mm.datasets.sklearn_digits import SklearnDigits
from feed_mm.models.algorithms.teacher_forward import (cpu_has_fast_bf16,
                                                       resolve_autocast)
from tests.helpers import build_razor_model
from tests.test_models.feed_fixtures import assert_config_error

RECIPE = 'configs/feed/_base_/feed_recipe.py'
# Measured on the 2-core CPU of the benchmark (3 random ResNet-20 teachers,
# 1,024 training images): at most 4.8e-4 relative per FEED term.
MAX_RELATIVE_DEVIATION = 5e-3


def native_bf16_from_cpuinfo() -> bool:
    """Whether this CPU runs bf16 natively, read from its feature flags as
    oneDNN decides it: AVX-512 core (or AVX2 VNNI 2) on x86, the bf16
    extension on Arm."""
    flags = set()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.split(':')[0].strip() in ('flags', 'Features'):
                    flags.update(line.split(':', 1)[1].split())
    if platform.machine() in ('x86_64', 'AMD64'):
        return {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq'} <= flags \
            or {'avx_vnni_int8', 'avx_ne_convert'} <= flags
    return 'bf16' in flags


def test_auto_is_fp16_on_cuda_and_native_bf16_on_cpu():
    assert resolve_autocast('auto', torch.device('cuda')) is torch.float16
    assert cpu_has_fast_bf16() == native_bf16_from_cpuinfo()
    expected = torch.bfloat16 if native_bf16_from_cpuinfo() else None
    assert resolve_autocast('auto', torch.device('cpu')) is expected
    assert resolve_autocast('auto', torch.device('meta')) is None
    # Explicit settings stay what they say on every device.
    assert resolve_autocast(None, torch.device('cuda')) is None
    assert resolve_autocast(torch.bfloat16,
                            torch.device('cuda')) is torch.bfloat16


def test_recipe_is_fast_and_unknown_values_name_auto():
    assert Config.fromfile(RECIPE).feed_model.teacher_autocast == 'auto'
    error = assert_config_error('model.teacher_autocast',
                                teacher_autocast='half')
    assert "'auto'" in str(error) and "got 'half'" in str(error)


def _digits_feed(teacher_autocast):
    torch.manual_seed(0)
    cfg = Config.fromfile(RECIPE)
    model = Config.fromfile(
        'configs/_base_/models/digits_resnet20.py').model.to_dict()
    preprocessor = Config.fromfile(
        'configs/_base_/datasets/sklearn_digits.py').data_preprocessor
    return build_razor_model(
        dict(cfg.feed_model.to_dict(),
             architecture=model,
             teachers={f't{i}': dict(model=model, ckpt=None)
                       for i in range(3)},
             allow_random_teachers=True,
             data_preprocessor=preprocessor.to_dict(),
             teacher_autocast=teacher_autocast)).eval()


def test_bf16_teachers_deviate_little_from_full_precision_on_digits():
    # bf16 is what 'auto' picks on a CPU with native bf16; elsewhere torch
    # emulates it, with the same numbers.
    exact, fast = _digits_feed(None), _digits_feed('bf16')
    fast.load_state_dict(exact.state_dict())
    fast.teachers.load_state_dict(exact.teachers.state_dict())
    data = SklearnDigits(split='train',
                         pipeline=[dict(type='mmpretrain.PackInputs')])
    worst = 0.0
    for start in (0, 128):
        items = [data[i] for i in range(start, start + 128)]
        batch = exact.data_preprocessor(
            dict(inputs=[item['inputs'] for item in items],
                 data_samples=[item['data_samples'] for item in items]))
        with torch.no_grad():
            losses = [algo.loss(batch['inputs'], batch['data_samples'])
                      for algo in (exact, fast)]
        feed_terms = [key for key in losses[0] if 'loss_feed' in key]
        assert len(feed_terms) == 3
        for key in feed_terms:
            deviation = (losses[1][key] - losses[0][key]).abs()
            worst = max(worst, (deviation / losses[0][key]).item())
        # The teachers' precision leaves the student's own loss alone.
        assert losses[1]['student.loss'] == losses[0]['student.loss']
    # bf16 teachers do change the loss, within the bound.
    assert 0 < worst < MAX_RELATIVE_DEVIATION
