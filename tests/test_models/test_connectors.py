"""Tests of FEEDTranslator, FEED's per-teacher translator."""
import pytest
import torch
import torch.nn as nn

import feed_mm  # noqa: F401
from feed_mm.models.connectors import FEEDTranslator
from feed_mm.utils import FEEDConfigError


def convs(translator):
    return [m for m in translator.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize('c_s,c_t,h,w', [
    (8, 16, 4, 4),
    (16, 8, 8, 8),
    (4, 4, 1, 1),
    (3, 7, 5, 6),
    (32, 64, 2, 3),
])
def test_output_shape(c_s, c_t, h, w):
    translator = FEEDTranslator(c_s, c_t)
    out = translator(torch.randn(2, c_s, h, w))
    assert out.shape == (2, c_t, h, w)


def test_default_layers():
    translator = FEEDTranslator(in_channels=8, out_channels=16)
    layers = list(translator.layers)
    assert len(layers) == 6
    conv_layers = layers[0::2]
    acts = layers[1::2]
    assert [(c.in_channels, c.out_channels)
            for c in conv_layers] == [(8, 8), (8, 16), (16, 16)]
    for conv in conv_layers:
        assert isinstance(conv, nn.Conv2d)
        assert conv.kernel_size == (3, 3)
        assert conv.stride == (1, 1)
        assert conv.padding == (1, 1)
        assert conv.bias is not None
    for act in acts:
        assert isinstance(act, nn.LeakyReLU)
        assert act.negative_slope == pytest.approx(0.1)
    assert not any(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for m in translator.modules())
    assert translator.in_channels == 8
    assert translator.out_channels == 16


def test_default_forward_is_conv_leaky_relu_stack():
    translator = FEEDTranslator(4, 6)
    x = torch.randn(2, 4, 5, 5)
    expected = x
    for conv in convs(translator):
        expected = nn.functional.leaky_relu(conv(expected), 0.1)
    torch.testing.assert_close(translator(x), expected)


@pytest.mark.parametrize('num_convs,widths', [
    (1, [16]),
    (2, [8, 16]),
    (3, [8, 16, 16]),
    (4, [8, 8, 16, 16]),
    (5, [8, 8, 16, 16, 16]),
])
def test_num_convs(num_convs, widths):
    translator = FEEDTranslator(8, 16, num_convs=num_convs)
    conv_layers = convs(translator)
    assert [c.out_channels for c in conv_layers] == widths
    assert conv_layers[0].in_channels == 8
    for prev, nxt in zip(conv_layers, conv_layers[1:]):
        assert nxt.in_channels == prev.out_channels
    assert translator(torch.randn(1, 8, 3, 3)).shape == (1, 16, 3, 3)


def test_kernel_size_keeps_spatial_size():
    translator = FEEDTranslator(4, 6, kernel_size=5)
    assert all(c.kernel_size == (5, 5) and c.padding == (2, 2)
               for c in convs(translator))
    assert translator(torch.randn(1, 4, 7, 7)).shape == (1, 6, 7, 7)


def test_act_cfg_none_has_no_activation():
    translator = FEEDTranslator(4, 6, act_cfg=None)
    assert all(isinstance(m, nn.Conv2d) for m in translator.layers)
    x = torch.randn(2, 4, 3, 3)
    expected = x
    for conv in convs(translator):
        expected = conv(expected)
    torch.testing.assert_close(translator(x), expected)


def test_norm_cfg_bn_layers():
    translator = FEEDTranslator(8, 16, norm_cfg=dict(type='BN'))
    layers = list(translator.layers)
    assert len(layers) == 9
    kinds = [type(m) for m in layers]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU] * 3
    assert [m.num_features for m in layers[1::3]] == [8, 16, 16]


@pytest.mark.parametrize('c_s,c_t', [(8, 16), (16, 4)])
def test_bn_variant_equals_mmrazor_translator(c_s, c_t):
    from mmrazor.models.architectures.connectors import Translator
    torch.manual_seed(0)
    theirs = Translator(c_s, c_t, use_bn=True)
    # Non-trivial BN statistics and affine parameters.
    for module in theirs.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.uniform_(module.bias, -0.2, 0.2)
    ours = FEEDTranslator(c_s, c_t, norm_cfg=dict(type='BN'))

    our_params = list(ours.parameters())
    their_params = list(theirs.parameters())
    our_buffers = list(ours.buffers())
    their_buffers = list(theirs.buffers())
    assert len(our_params) == len(their_params) == 12
    assert len(our_buffers) == len(their_buffers) == 9
    with torch.no_grad():
        for p, q in zip(our_params, their_params):
            assert p.shape == q.shape
            p.copy_(q)
        for b, c in zip(our_buffers, their_buffers):
            assert b.shape == c.shape
            b.copy_(c)
    ours.eval()
    theirs.eval()
    x = torch.randn(3, c_s, 4, 4)
    torch.testing.assert_close(ours(x), theirs(x.clone()))


def test_no_norm_variant_equals_mmrazor_translator():
    from mmrazor.models.architectures.connectors import Translator
    theirs = Translator(8, 16, use_bn=False)
    ours = FEEDTranslator(8, 16)
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            p.copy_(q)
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(ours(x), theirs(x.clone()))


def test_registered_in_mmrazor_registry():
    from tests.helpers import build_razor_model
    translator = build_razor_model(
        dict(type='FEEDTranslator', in_channels=4, out_channels=8))
    assert isinstance(translator, FEEDTranslator)


@pytest.mark.parametrize('kwargs,key', [
    (dict(in_channels=0, out_channels=8), 'FEEDTranslator.in_channels'),
    (dict(in_channels=2.5, out_channels=8), 'FEEDTranslator.in_channels'),
    (dict(in_channels=4, out_channels=-1), 'FEEDTranslator.out_channels'),
    (dict(in_channels=4, out_channels=None), 'FEEDTranslator.out_channels'),
    (dict(in_channels=4, out_channels=8, num_convs=0),
     'FEEDTranslator.num_convs'),
    (dict(in_channels=4, out_channels=8, kernel_size=2),
     'FEEDTranslator.kernel_size'),
])
def test_bad_arguments(kwargs, key):
    with pytest.raises(FEEDConfigError) as info:
        FEEDTranslator(**kwargs)
    assert info.value.key == key
