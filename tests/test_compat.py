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


# Imported before feed_mm by the probe below: every module whose attributes
# a plugin could be tempted to rebind.
ECOSYSTEM_MODULES = (
    'builtins', 'socket', 'mmengine', 'mmengine.config', 'mmengine.fileio',
    'mmengine.hooks', 'mmengine.hooks.checkpoint_hook', 'mmengine.hub',
    'mmengine.registry', 'mmengine.runner', 'mmengine.runner.checkpoint',
    'mmengine.utils', 'mmengine.utils.package_utils', 'mmpretrain',
    'mmpretrain.apis', 'mmpretrain.datasets', 'mmpretrain.models', 'mmrazor',
    'mmrazor.registry')
POLITENESS_PROBE = '''
import importlib, json, sys, types
for name in MODULES:
    importlib.import_module(name)
roots = ('builtins', 'socket', 'mmengine', 'mmpretrain', 'mmrazor')

def snapshot():
    seen = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(roots):
            continue
        for key, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType):
                continue
            seen[f'{name}.{key}'] = id(value)
            owner = getattr(value, '__module__', None) or ''
            if isinstance(value, type) and owner.startswith(roots):
                for attr, member in list(vars(value).items()):
                    seen[f'{name}.{key}.{attr}'] = id(member)
    return seen

def tables():
    from mmengine.config.utils import MODULE2PACKAGE
    from mmengine.fileio.backends import registry_utils
    from mmengine.runner.checkpoint import CheckpointLoader
    return {'MODULE2PACKAGE': dict(MODULE2PACKAGE),
            'backends': dict(registry_utils.backends),
            'prefixes': dict(registry_utils.prefix_to_backends),
            'schemes': dict(CheckpointLoader._schemes)}

before, tables_before = snapshot(), tables()
import feed_mm
after, tables_after = snapshot(), tables()
rebound = sorted(k for k in before if k in after and before[k] != after[k])
changed = {table: sorted(k for k in content
                         if tables_after[table].get(k) is not content[k])
           for table, content in tables_before.items()}
added = {table: sorted(set(tables_after[table]) - set(content))
         for table, content in tables_before.items()}
print(json.dumps(dict(rebound=rebound, changed=changed, added=added)))
'''


def test_import_rebinds_nothing_of_the_ecosystem():
    """``import feed_mm`` in a fresh interpreter, after MMEngine, MMPretrain
    and MMRazor: no attribute of their modules (nor of builtins or socket)
    is rebound, no entry of MMEngine's tables replaced; it only adds its
    config scope."""
    import json
    import subprocess
    import sys

    from tests.helpers import REPO
    probe = f'MODULES = {ECOSYSTEM_MODULES!r}\n' + POLITENESS_PROBE
    out = subprocess.run([sys.executable, '-c', probe], capture_output=True,
                         text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report['rebound'] == []
    assert report['changed'] == dict(MODULE2PACKAGE=[], backends=[],
                                     prefixes=[], schemes=[])
    assert report['added']['MODULE2PACKAGE'] == ['feed_mm']
    assert report['added']['schemes'] == report['added']['prefixes'] == []
