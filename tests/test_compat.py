import importlib

import pytest


def test_mmrazor_distillation_modules_import_and_register():
    import feed_mm  # noqa: F401
    importlib.import_module('mmrazor.models')
    from mmrazor.registry import MODELS
    for name in ('SingleTeacherDistill', 'ConfigurableDistiller',
                 'Translator', 'FTLoss', 'KLDivergence', 'FEEDDistill',
                 'FEEDDistiller', 'FEEDTranslator', 'FEEDLoss'):
        assert MODELS.get(name) is not None, name


def test_shims_restore_only_missing_names_and_are_idempotent():
    import torch.ao.quantization.fuser_method_mappings as fmm
    from torch.ao.quantization.backend_config import BackendPatternConfig

    from feed_mm.compat import apply_compat_shims
    first = apply_compat_shims()
    assert apply_compat_shims() == first  # nothing applied twice
    for name in ('reverse2', 'reverse3', 'reverse_sequential_wrapper2'):
        assert callable(getattr(fmm, name))
    if hasattr(fmm, '_reverse2'):
        assert fmm.reverse2 is fmm._reverse2
    config = BackendPatternConfig()
    assert config._set_input_output_observed(True) is config
    assert config._input_output_observed is True


def test_reverse_sequential_wrapper2_reverses_its_modules():
    import torch.nn as nn
    from torch.ao.quantization.fuser_method_mappings import \
        reverse_sequential_wrapper2
    conv, relu = nn.Conv2d(1, 1, 1), nn.ReLU()
    fused = reverse_sequential_wrapper2(nn.Sequential)(False, relu, conv)
    assert list(fused) == [conv, relu]


def test_shim_is_noop_when_torch_has_the_name(monkeypatch):
    import torch.ao.quantization.fuser_method_mappings as fmm

    from feed_mm import compat
    sentinel = object()
    monkeypatch.setattr(fmm, 'reverse_sequential_wrapper2', sentinel)
    compat.apply_compat_shims()
    assert fmm.reverse_sequential_wrapper2 is sentinel


def test_missing_mmcv_gives_install_hint(monkeypatch):
    from feed_mm import compat
    real_import = importlib.import_module

    def fake_import(name, *args):
        if name == 'mmcv':
            raise ImportError('No module named mmcv')
        return real_import(name, *args)

    monkeypatch.setattr(compat.importlib, 'import_module', fake_import)
    with pytest.raises(ImportError, match=r'feed_mm\[lite\]'):
        compat.check_mmcv()
