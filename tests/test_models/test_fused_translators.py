"""Fused translators: the first convolutions of all translators as one,
with the outputs, gradients and checkpoints of separate translators."""
import torch

import feed_mm  # noqa: F401
from feed_mm.models.connectors import FEEDTranslator, fusion_key
from feed_mm.utils import FEEDConfigError
from tests.test_models.feed_fixtures import (assert_config_error, build_feed,
                                             batch, classifier)


def three_teachers(**t2_options):
    """Teachers of 128, 32 and 64 channels; t2 takes ``t2_options``."""
    return dict(
        t0=dict(model=classifier(16), ckpt=None),
        t1=dict(model=classifier(4), ckpt=None),
        t2=dict(model=classifier(8), ckpt=None, **t2_options))


def pair(teachers=None):
    """The same FEED model unfused and fused (identical weights)."""
    torch.manual_seed(0)
    plain = build_feed(teachers or three_teachers(),
                       distiller=dict(fuse_translators=False))
    fused = build_feed(teachers or three_teachers(),
                       distiller=dict(fuse_translators=True))
    fused.load_state_dict(plain.state_dict())
    # Checkpoints leave out the (random) teachers.
    fused.teachers.load_state_dict(plain.teachers.state_dict())
    return plain, fused


def test_fused_outputs_and_gradients_equal_separate_translators():
    plain, fused = pair()
    feature = torch.randn(4, 64, 4, 4)
    outputs = []
    for algo in (plain, fused):
        algo.zero_grad()
        translated = algo.distiller.translate(feature)
        assert list(translated) == ['t0', 't1', 't2']
        sum((v * v).mean() for v in translated.values()).backward()
        grads = {name: p.grad.clone()
                 for name, p in algo.distiller.translators.named_parameters()}
        outputs.append((translated, grads))
    (out_a, grad_a), (out_b, grad_b) = outputs
    for name in out_a:
        assert out_a[name].shape == out_b[name].shape
        torch.testing.assert_close(out_b[name], out_a[name], rtol=1e-5,
                                   atol=1e-6)
    assert set(grad_a) == set(grad_b) and len(grad_a) == 18
    for name in grad_a:
        torch.testing.assert_close(grad_b[name], grad_a[name], rtol=1e-5,
                                   atol=1e-6)


def test_fused_losses_equal_separate_ones():
    plain, fused = pair()
    inputs, samples = batch(4)
    losses = [algo.loss(inputs, samples) for algo in (plain, fused)]
    assert set(losses[0]) == set(losses[1])
    for key in losses[0]:
        torch.testing.assert_close(losses[1][key], losses[0][key],
                                   rtol=1e-5, atol=1e-6)


def test_checkpoints_are_the_same_in_both_layouts():
    plain, fused = pair()
    plain_state, fused_state = plain.state_dict(), fused.state_dict()
    assert list(plain_state) == list(fused_state)
    assert 'distiller.translators.t1.layers.0.weight' in fused_state
    for key in plain_state:
        assert plain_state[key].shape == fused_state[key].shape
    # Each layout loads the other's checkpoint strictly, and the loaded
    # model translates as the saved one.
    torch.manual_seed(1)
    other = build_feed(three_teachers(),
                       distiller=dict(fuse_translators=False))
    fused.load_state_dict(other.state_dict())
    plain.load_state_dict(fused.state_dict())
    feature = torch.randn(2, 64, 4, 4)
    with torch.no_grad():
        for name, value in fused.distiller.translate(feature).items():
            torch.testing.assert_close(
                value, other.distiller.translators[name](feature))
            torch.testing.assert_close(
                value, plain.distiller.translators[name](feature))


def test_translators_that_differ_run_apart():
    # t2's translator has a 1x1 first conv: t0 and t1 are fused, t2 not.
    plain, fused = pair(three_teachers(translator=dict(kernel_size=1)))
    keys = [fusion_key(t) for t in fused.distiller.translators.values()]
    assert keys[0] == keys[1] != keys[2] is not None
    feature = torch.randn(2, 64, 4, 4)
    with torch.no_grad():
        expected = plain.distiller.translate(feature)
        for name, value in fused.distiller.translate(feature).items():
            torch.testing.assert_close(value, expected[name], rtol=1e-5,
                                       atol=1e-6)


def test_fusion_key_refuses_other_translators():
    assert fusion_key(torch.nn.Conv2d(4, 4, 3)) is None
    grouped = FEEDTranslator(4, 8)
    grouped.layers[0] = torch.nn.Conv2d(4, 4, 3, padding=1, groups=2)
    assert fusion_key(grouped) is None
    assert fusion_key(FEEDTranslator(4, 8)) is not None


def test_fuse_translators_must_be_a_bool():
    error = assert_config_error('model.distiller.fuse_translators',
                                distiller=dict(fuse_translators='yes'))
    assert isinstance(error, FEEDConfigError)
    assert "got 'yes'" in str(error)


def test_fused_by_default():
    assert build_feed().distiller.fuse_translators is True
