"""Tests of the CIFAR backbones (CifarResNet, WideResNet, CifarResNeXt)."""
import re

import pytest
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

# Importing the package registers the backbones in MODELS.
from feed_mm.models.backbones import CifarResNet, CifarResNeXt, WideResNet

# Small variants, so that forwards stay fast on CPU.
SMALL = {
    'resnet20': (dict(type='CifarResNet', depth=20), [16, 32, 64]),
    'wrn16_2': (dict(type='WideResNet', depth=16, widen_factor=2),
                [32, 64, 128]),
    'resnext29_2x4d':
    (dict(type='CifarResNeXt', depth=29, cardinality=2, base_width=4),
     [256, 512, 1024]),
}
SPATIAL = [32, 16, 8]


def build_classifier(backbone: dict, in_channels: int) -> nn.Module:
    return MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead', num_classes=100,
                in_channels=in_channels)))


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', sorted(SMALL))
@pytest.mark.parametrize('out_indices, expected_stages',
                         [((0, 1, 2), [0, 1, 2]), ((2, ), [2]), ((0, ), [0]),
                          ((1, 2), [1, 2]), (-1, [2]), ((-3, 1), [0, 1])])
def test_forward_shapes(name, out_indices, expected_stages):
    cfg, channels = SMALL[name]
    backbone = MODELS.build(dict(cfg, out_indices=out_indices))
    assert backbone.out_channels == channels
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert isinstance(outs, tuple)
    assert [tuple(o.shape) for o in outs] == [
        (2, channels[i], SPATIAL[i], SPATIAL[i]) for i in expected_stages
    ]


@pytest.mark.parametrize('name', sorted(SMALL))
def test_classifier_forward(name):
    cfg, channels = SMALL[name]
    model = build_classifier(cfg, channels[-1])
    model.init_weights()
    logits = model(torch.randn(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 100)
    assert torch.isfinite(logits).all()


def test_scoped_type_and_in_channels():
    backbone = MODELS.build(
        dict(type='mmpretrain.CifarResNet', depth=20, in_channels=1))
    assert isinstance(backbone, CifarResNet)
    assert backbone(torch.randn(1, 1, 32, 32))[0].shape == (1, 64, 8, 8)


def test_default_init_cfg():
    backbone = CifarResNet(depth=20)
    for m in backbone.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data.fill_(3.0)
            m.bias.data.fill_(2.0)
    backbone.init_weights()
    # Kaiming normal, fan_out mode: std = sqrt(2 / (64 * 3 * 3)) ~ 0.059,
    # against ~0.024 for PyTorch's default uniform init.
    weight = backbone.layer3[1].conv1.weight
    assert weight.std().item() == pytest.approx((2 / 576)**0.5, rel=0.1)
    for m in backbone.modules():
        if isinstance(m, _BatchNorm):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


def test_base_channels_and_pad_shortcut():
    conv = CifarResNet(depth=20)
    pad = CifarResNet(depth=20, shortcut='pad')
    # Option A drops the two 1x1 projections (16->32, 32->64) and their BNs.
    projections = 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64
    assert num_params(conv) - num_params(pad) == projections
    out = pad(torch.randn(2, 3, 32, 32))[0]
    assert out.shape == (2, 64, 8, 8)
    wide = CifarResNet(depth=20, base_channels=32, out_indices=(0, 1, 2))
    assert wide.out_channels == [32, 64, 128]
    assert [o.shape[1] for o in wide(torch.randn(1, 3, 32, 32))] == [32, 64,
                                                                     128]


def test_wrn_final_activation_and_module_paths():
    backbone = WideResNet(depth=16, widen_factor=2, out_indices=(0, 1, 2))
    backbone.eval()
    recorded = {}
    for path in ('layer3', 'norm_final', 'relu_final'):
        backbone.get_submodule(path).register_forward_hook(
            lambda m, i, o, path=path: recorded.__setitem__(path, o))
    outs = backbone(torch.randn(2, 3, 32, 32))
    assert torch.equal(outs[2], recorded['relu_final'])
    assert torch.equal(outs[2], torch.relu(recorded['norm_final']))
    # The norm output is not overwritten by the final ReLU.
    assert (recorded['norm_final'] < 0).any()
    assert (outs[2] >= 0).all()
    assert (recorded['layer3'] < 0).any()


def test_wrn_dropout():
    x = torch.randn(2, 3, 32, 32)
    backbone = WideResNet(depth=10, widen_factor=1, drop_rate=0.5)
    backbone.train()
    torch.manual_seed(0)
    first = backbone(x)[0]
    second = backbone(x)[0]
    assert not torch.allclose(first, second)
    backbone.eval()
    assert torch.equal(backbone(x)[0], backbone(x)[0])
    assert not any(
        isinstance(m, nn.Dropout)
        for m in WideResNet(depth=10).modules())


@pytest.mark.parametrize('cls, depth, rule', [
    (CifarResNet, 21, '6n+2'),
    (CifarResNet, 2, '6n+2'),
    (WideResNet, 28 + 1, '6n+4'),
    (CifarResNeXt, 30, '9n+2'),
])
def test_invalid_depth(cls, depth, rule):
    with pytest.raises(
            ValueError, match=rf'{re.escape(rule)}.*got {depth}\b'):
        cls(depth=depth)


@pytest.mark.parametrize('cls, depth', [(CifarResNet, 20), (WideResNet, 10),
                                        (CifarResNeXt, 11)])
@pytest.mark.parametrize('bad', [3, -4])
def test_invalid_out_indices(cls, depth, bad):
    with pytest.raises(ValueError, match=rf'out_indices contains {bad}\b'):
        cls(depth=depth, out_indices=(0, bad))


def test_invalid_arguments():
    with pytest.raises(ValueError, match='out_indices must not be empty'):
        CifarResNet(depth=20, out_indices=())
    with pytest.raises(ValueError, match='frozen_stages .* got 4'):
        CifarResNet(depth=20, frozen_stages=4)
    with pytest.raises(ValueError, match="got 'B'"):
        CifarResNet(depth=20, shortcut='B')
    with pytest.raises(ValueError, match='drop_rate .* got 1.0'):
        WideResNet(depth=10, drop_rate=1.0)
    with pytest.raises(ValueError, match='cardinality .* got 0'):
        CifarResNeXt(depth=11, cardinality=0)


def _bns(module: nn.Module):
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


@pytest.mark.parametrize('cls, kwargs, stem', [
    (CifarResNet, dict(depth=20), ['conv1', 'bn1']),
    (WideResNet, dict(depth=10, widen_factor=2), ['conv1']),
    (CifarResNeXt, dict(depth=11, cardinality=2, base_width=4),
     ['conv1', 'bn1']),
])
def test_frozen_stages(cls, kwargs, stem):
    backbone = cls(frozen_stages=1, **kwargs)
    backbone.train()
    frozen = [getattr(backbone, name) for name in stem] + [backbone.layer1]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not bn.training for bn in _bns(module))
    for module in (backbone.layer2, backbone.layer3):
        assert all(p.requires_grad for p in module.parameters())
        assert all(bn.training for bn in _bns(module))
    if cls is WideResNet:
        assert backbone.norm_final.training
        assert backbone.norm_final.weight.requires_grad
    # Only unfrozen parameters receive gradients.
    backbone(torch.randn(2, 3, 32, 32))[0].sum().backward()
    assert backbone.layer1[0].conv1.weight.grad is None
    assert backbone.layer2[0].conv1.weight.grad is not None


def test_wrn_frozen_last_stage_includes_final_norm():
    backbone = WideResNet(depth=10, frozen_stages=3)
    backbone.train()
    assert not backbone.norm_final.training
    assert all(not p.requires_grad for p in backbone.parameters())


@pytest.mark.parametrize('name', sorted(SMALL))
def test_norm_eval(name):
    cfg, _ = SMALL[name]
    backbone = MODELS.build(dict(cfg, norm_eval=True))
    backbone.train()
    bns = _bns(backbone)
    assert bns and all(not bn.training for bn in bns)
    assert backbone.training and backbone.layer1.training
    before = [bn.running_mean.clone() for bn in bns]
    backbone(torch.randn(2, 3, 32, 32))
    assert all(
        torch.equal(b, bn.running_mean) for b, bn in zip(before, bns))
    # Without norm_eval, train() puts the BNs in training mode.
    plain = MODELS.build(cfg)
    plain.eval()
    plain.train()
    assert all(bn.training for bn in _bns(plain))
