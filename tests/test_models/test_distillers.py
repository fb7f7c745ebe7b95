"""FEEDDistiller inside FEEDDistill: loss terms, translators, mixing with
MMRazor losses, equivalence with MMRazor's Factor Transfer, and config
errors that name their key."""
import pytest
import torch
import torch.nn as nn

import feed_mm  # noqa: F401
from feed_mm.models.distillers import FEEDDistiller
from feed_mm.utils import FEEDConfigError
from tests.helpers import build_razor_model
from tests.test_models.feed_fixtures import (PREPROCESSOR,
                                             assert_config_error, batch,
                                             build_feed, classifier,
                                             kd_distiller, two_teachers)

MAPPINGS = 'model.distiller.loss_forward_mappings'


def copy_weights(dst, src):
    """Copy student, translators and teachers of ``src`` into ``dst``."""
    dst.load_state_dict(src.state_dict(), strict=True)
    dst.teachers.load_state_dict(src.teachers.state_dict(), strict=True)


def values(losses):
    return {k: v.detach().clone() for k, v in losses.items()}


# ----------------------------------------------------------------------
# Loss terms.
def test_loss_keys_one_per_teacher():
    algo = build_feed()
    losses = algo.loss(*batch())
    assert set(losses) == {
        'student.loss', 'distill.loss_feed_t0', 'distill.loss_feed_t1'
    }
    for value in losses.values():
        assert value.dim() == 0 and torch.isfinite(value)
    # Random teachers and translators: the FEED terms are not zero.
    assert losses['distill.loss_feed_t0'] > 0
    assert losses['distill.loss_feed_t1'] > 0


def test_teachers_given_as_list_are_named_in_order():
    algo = build_feed(teachers=[
        dict(model=classifier(16), ckpt=None),
        dict(model=classifier(4), ckpt=None),
        dict(model=classifier(2), ckpt=None)
    ])
    assert list(algo.teachers) == ['t0', 't1', 't2']
    losses = algo.loss(*batch())
    assert {f'distill.loss_feed_t{i}' for i in range(3)} <= set(losses)
    assert algo.distiller.translators['t2'].out_channels == 16


def test_feed_term_equals_loss_of_translated_student_feature():
    algo = build_feed()
    algo.eval()
    inputs, samples = batch()
    losses = algo.loss(inputs, samples)
    with torch.no_grad():
        s_feat = algo.student.backbone(inputs)[-1]
        for name, beta in (('t0', 500.0), ('t1', 500.0)):
            t_feat = algo.teachers[name].backbone(inputs)[-1]
            translated = algo.distiller.translators[name](s_feat)
            s_vec = nn.functional.normalize(translated.flatten(1), dim=1)
            t_vec = nn.functional.normalize(t_feat.flatten(1), dim=1)
            expected = beta * (s_vec - t_vec).abs().mean()
            torch.testing.assert_close(
                losses[f'distill.loss_feed_{name}'].detach(), expected,
                rtol=1e-5, atol=1e-6)


def test_teacher_reduction_mean_halves_each_term():
    summed = build_feed(save_teachers=True)
    averaged = build_feed(
        distiller=dict(teacher_reduction='mean'), save_teachers=True)
    copy_weights(averaged, summed)
    inputs, samples = batch()
    base = values(summed.loss(inputs, samples))
    half = values(averaged.loss(inputs, samples))
    for name in ('t0', 't1'):
        key = f'distill.loss_feed_{name}'
        torch.testing.assert_close(half[key], base[key] / 2)
    torch.testing.assert_close(half['student.loss'], base['student.loss'])


def test_per_teacher_loss_weight_scales_its_term():
    base_algo = build_feed()
    weighted = build_feed(teachers=two_teachers(t0=dict(loss_weight=3.0)))
    copy_weights(weighted, base_algo)
    inputs, samples = batch()
    base = values(base_algo.loss(inputs, samples))
    got = values(weighted.loss(inputs, samples))
    torch.testing.assert_close(got['distill.loss_feed_t0'],
                               3 * base['distill.loss_feed_t0'])
    torch.testing.assert_close(got['distill.loss_feed_t1'],
                               base['distill.loss_feed_t1'])


def test_per_teacher_feed_loss_override():
    base_algo = build_feed()
    other = build_feed(teachers=two_teachers(
        t1=dict(feed_loss=dict(loss_weight=5.0))))
    copy_weights(other, base_algo)
    inputs, samples = batch()
    base = values(base_algo.loss(inputs, samples))
    got = values(other.loss(inputs, samples))
    # The distiller's default beta is 500; t1 overrides it with 5.
    torch.testing.assert_close(got['distill.loss_feed_t1'],
                               base['distill.loss_feed_t1'] / 100)
    torch.testing.assert_close(got['distill.loss_feed_t0'],
                               base['distill.loss_feed_t0'])


# ----------------------------------------------------------------------
# Translators and channels.
def test_channels_are_inferred_from_the_models():
    algo = build_feed(teachers=dict(
        wide=dict(model=classifier(16), ckpt=None),
        narrow=dict(model=classifier(4), ckpt=None),
        mid=dict(
            model=classifier(6, out_indices=(2, )),
            ckpt=None)))
    translators = algo.distiller.translators
    assert set(translators) == {'wide', 'narrow', 'mid'}
    for name, c_t in (('wide', 128), ('narrow', 32), ('mid', 24)):
        convs = [m for m in translators[name].modules()
                 if isinstance(m, nn.Conv2d)]
        assert convs[0].in_channels == 64
        assert convs[-1].out_channels == c_t
        assert translators[name].in_channels == 64
        assert translators[name].out_channels == c_t
    # 'mid' records an 8x8 map: it is resized to the student's 4x4.
    losses = algo.loss(*batch())
    assert torch.isfinite(losses['distill.loss_feed_mid'])


def test_explicit_matching_channels_are_accepted():
    algo = build_feed(
        teachers=two_teachers(t0=dict(translator=dict(out_channels=128))),
        distiller=dict(translator=dict(type='FEEDTranslator', in_channels=64)))
    assert algo.distiller.translators['t0'].out_channels == 128
    assert algo.distiller.translators['t1'].in_channels == 64


def test_per_teacher_translator_options():
    algo = build_feed(teachers=two_teachers(
        t1=dict(translator=dict(norm_cfg=dict(type='BN'), num_convs=2))))
    t0_kinds = [type(m) for m in algo.distiller.translators['t0'].layers]
    t1_kinds = [type(m) for m in algo.distiller.translators['t1'].layers]
    assert nn.BatchNorm2d not in t0_kinds
    assert t1_kinds == [nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU] * 2


@pytest.mark.parametrize('teachers,distiller,key', [
    (two_teachers(t0=dict(translator=dict(out_channels=99))), None,
     'model.teachers.t0.translator.out_channels'),
    (two_teachers(t1=dict(translator=dict(out_channels=128))), None,
     'model.teachers.t1.translator.out_channels'),
    # Set on the distiller for every teacher: named there.
    (None, dict(translator=dict(type='FEEDTranslator', in_channels=32)),
     'model.distiller.translator.in_channels'),
    (None, dict(translator=dict(type='FEEDTranslator', out_channels=128)),
     'model.distiller.translator.out_channels'),
])
def test_contradicting_channels_raise(teachers, distiller, key):
    assert_config_error(key, teachers=teachers, distiller=distiller)


# ----------------------------------------------------------------------
# Mixing FEED with MMRazor losses.
def test_mix_with_mmrazor_kl_divergence():
    algo = build_feed(distiller=kd_distiller(from_teacher='t0'))
    inputs, samples = batch()
    losses = algo.loss(inputs, samples)
    assert set(losses) == {
        'student.loss', 'distill.loss_feed_t0', 'distill.loss_feed_t1',
        'distill.loss_kd'
    }
    assert all(torch.isfinite(v) for v in losses.values())
    # It is MMRazor's KLDivergence on the recorded logits.
    from mmrazor.models.losses import KLDivergence
    algo.eval()
    with torch.no_grad():
        expected = KLDivergence(tau=4)(
            algo.student(inputs, mode='tensor'),
            algo.teachers['t0'](inputs, mode='tensor'))
        got = algo.loss(inputs, samples)['distill.loss_kd']
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # The KD term backpropagates into the student's classifier.
    algo.train()
    algo.zero_grad()
    algo.loss(inputs, samples)['distill.loss_kd'].backward()
    assert algo.student.head.fc.weight.grad.abs().sum() > 0
    assert algo.teachers['t0'].head.fc.weight.grad is None


def test_from_teacher_may_be_omitted_with_one_teacher():
    algo = build_feed(
        teachers=dict(t0=dict(model=classifier(16), ckpt=None)),
        distiller=kd_distiller())
    losses = algo.loss(*batch())
    assert torch.isfinite(losses['distill.loss_kd'])


def test_feed_loss_names_are_reserved():
    with pytest.raises(FEEDConfigError) as info:
        FEEDDistiller(distill_losses=dict(
            loss_feed_x=dict(type='KLDivergence')))
    assert info.value.key == 'model.distiller.distill_losses.loss_feed_x'


# ----------------------------------------------------------------------
# One teacher: FEED is MMRazor's Factor Transfer.
def test_one_teacher_equals_mmrazor_factor_transfer():
    student, teacher = classifier(8), classifier(16)
    razor = build_razor_model(
        dict(
            type='SingleTeacherDistill',
            architecture=dict(student, _scope_='mmpretrain'),
            teacher=dict(teacher, _scope_='mmpretrain'),
            data_preprocessor=PREPROCESSOR,
            distiller=dict(
                type='ConfigurableDistiller',
                student_recorders=dict(
                    feat=dict(type='ModuleOutputs', source='backbone')),
                teacher_recorders=dict(
                    feat=dict(type='ModuleOutputs', source='backbone')),
                connectors=dict(
                    translator=dict(
                        type='Translator',
                        in_channel=64,
                        out_channel=128,
                        use_bn=False)),
                distill_losses=dict(
                    loss_ft=dict(type='FTLoss', loss_weight=500)),
                loss_forward_mappings=dict(
                    loss_ft=dict(
                        s_feature=dict(
                            recorder='feat',
                            from_student=True,
                            data_idx=0,
                            connector='translator'),
                        t_feature=dict(
                            recorder='feat', from_student=False,
                            data_idx=0))))))
    ours = build_feed(
        teachers=dict(t0=dict(model=teacher, ckpt=None)),
        distiller=dict(
            translator=dict(type='FEEDTranslator'),
            feed_loss=dict(type='FEEDLoss', loss_weight=500.)))

    ours.student.load_state_dict(razor.student.state_dict(), strict=True)
    ours.teachers['t0'].load_state_dict(
        razor.teacher.state_dict(), strict=True)
    ours_tr = list(ours.distiller.translators['t0'].parameters())
    razor_tr = list(razor.distiller.connectors['translator'].parameters())
    assert len(ours_tr) == len(razor_tr) == 6
    with torch.no_grad():
        for dst, src in zip(ours_tr, razor_tr):
            assert dst.shape == src.shape
            dst.copy_(src)
    # MMRazor sets the teacher's BN layers to eval only in train().
    razor.train()
    ours.train()

    inputs, samples = batch()
    theirs = razor.loss(inputs, samples)
    mine = ours.loss(inputs, samples)
    assert set(mine) == {'student.loss', 'distill.loss_feed_t0'}
    assert abs(mine['distill.loss_feed_t0'].item() -
               theirs['distill.loss_ft'].item()) < 1e-6 * max(
                   1.0, abs(theirs['distill.loss_ft'].item()))
    torch.testing.assert_close(mine['student.loss'], theirs['student.loss'],
                               rtol=0, atol=1e-6)

    # Same gradients on the student and the translator.
    sum(theirs.values()).backward()
    sum(mine.values()).backward()
    for (name, p), q in zip(ours.student.named_parameters(),
                            razor.student.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6,
                                   msg=name)
    for p, q in zip(ours_tr, razor_tr):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------
# Config errors naming their key.
def kd_two_teachers(**preds_t):
    cfg = kd_distiller(**preds_t)
    cfg['teacher_recorders'] = dict(
        t0=dict(logits=dict(type='ModuleOutputs', source='head.fc')),
        t1=dict(logits=dict(type='ModuleOutputs', source='head.fc')))
    return cfg


@pytest.mark.parametrize('distiller,key', [
    (kd_two_teachers(from_teacher='t9'),
     f'{MAPPINGS}.loss_kd.preds_T.from_teacher'),
    (kd_two_teachers(), f'{MAPPINGS}.loss_kd.preds_T.from_teacher'),
    (dict(distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4))),
     f'{MAPPINGS}.loss_kd'),
    (dict(student_feature='backbone.layer9'),
     'model.distiller.student_feature'),
    (dict(teacher_feature='backbone.nope'),
     'model.distiller.teacher_feature'),
    (dict(teacher_recorders=dict(
        t9=dict(logits=dict(type='ModuleOutputs', source='head.fc')))),
     'model.distiller.teacher_recorders.t9'),
    (dict(student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fcc'))),
     'model.distiller.student_recorders.logits.source'),
    (dict(teacher_reduction='max'), 'model.distiller.teacher_reduction'),
])
def test_bad_distiller_configs_name_the_key(distiller, key):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(distiller=distiller)
    assert info.value.key == key


@pytest.mark.parametrize('preds_t,error,words', [
    # MMRazor's own check of the mapping.
    (dict(from_teacher='t1', recorder='logitz'), AssertionError,
     ['logitz', 'teacher_recorders']),
    (dict(from_teacher='t1', recorder='logits', data_index=0), TypeError,
     ['data_index']),
])
def test_mmrazor_errors_come_through(preds_t, error, words):
    """Where MMRazor's error already names the argument, it reaches the
    user as it is (at build time, or at the first step)."""
    with pytest.raises(error) as info:
        algo = build_feed(distiller=kd_two_teachers(**preds_t))
        algo.loss(*batch())
    assert all(word in str(info.value) for word in words)


def test_unknown_teacher_in_mapping_is_named():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(distiller=kd_two_teachers(from_teacher='t9'))
    assert "'t9'" in str(info.value)


def test_bad_teacher_feature_names_the_teacher_key():
    with pytest.raises(FEEDConfigError) as info:
        build_feed(teachers=two_teachers(t1=dict(feature='nope')))
    assert info.value.key == 'model.teachers.t1.feature'
    assert 'nope' in str(info.value)


def test_per_teacher_feature_is_used():
    algo = build_feed(teachers=two_teachers(
        t1=dict(feature=dict(source='backbone.layer3'))))
    # layer3 of a base-4 ResNet has 16 channels.
    assert algo.distiller.translators['t1'].out_channels == 16
    assert algo.distiller.translators['t0'].out_channels == 128
    assert torch.isfinite(algo.loss(*batch())['distill.loss_feed_t1'])


# ----------------------------------------------------------------------
# Found by tests/test_reliability/test_config_fuzz.py: each of these failed
# at the first iteration, with a bare error, or named another key.
@pytest.mark.parametrize('distiller,teachers,key', [
    (dict(student_recorders=['logits']), None,
     'model.distiller.student_recorders'),
    (dict(teacher_recorders=['logits']), None,
     'model.distiller.teacher_recorders'),
    (dict(teacher_recorders=dict(t0='logits')), None,
     'model.distiller.teacher_recorders.t0'),
    (dict(connectors=['c']), None, 'model.distiller.connectors'),
    (dict(distill_losses=['loss_kd']), None, 'model.distiller.distill_losses'),
    (dict(loss_forward_mappings=['loss_kd']), None, MAPPINGS),
    (dict(translator='FEEDTranslator'), None, 'model.distiller.translator'),
    (dict(feed_loss='FEEDLoss'), None, 'model.distiller.feed_loss'),
    (None, two_teachers(t1=dict(translator=3)),
     'model.teachers.t1.translator'),
    (None, two_teachers(t0=dict(feed_loss='sum')),
     'model.teachers.t0.feed_loss'),
])
def test_parts_of_another_type_are_named(distiller, teachers, key):
    assert_config_error(key, teachers=teachers, distiller=distiller)


@pytest.mark.parametrize('distiller,teachers,key', [
    (dict(student_feature=dict(source='backbone', data_idx=1)), None,
     'model.distiller.student_feature.data_idx'),
    (dict(student_feature=dict(source='backbone', data_idx='last')), None,
     'model.distiller.student_feature.data_idx'),
    (dict(teacher_feature=dict(source='backbone.layer3', data_idx=0)), None,
     'model.distiller.teacher_feature.data_idx'),
    (None, two_teachers(t1=dict(feature=dict(source='backbone',
                                             data_idx=-2))),
     'model.teachers.t1.feature.data_idx'),
    # The distiller's default location, not a teacher option, is wrong.
    (dict(teacher_feature='neck'), None, 'model.distiller.teacher_feature'),
])
def test_feature_errors_name_the_feature_key(distiller, teachers, key):
    assert_config_error(key, teachers=teachers, distiller=distiller)


@pytest.mark.parametrize('distiller,teachers,key', [
    (dict(translator=dict(type='FEEDTranslator', num_convs=0)), None,
     'model.distiller.translator.num_convs'),
    (None, two_teachers(t1=dict(translator=dict(num_convs=0))),
     'model.teachers.t1.translator.num_convs'),
    (dict(feed_loss=dict(type='FEEDLoss', reduction='avg')), None,
     'model.distiller.feed_loss.reduction'),
    (None, two_teachers(t0=dict(feed_loss=dict(reduction='avg'))),
     'model.teachers.t0.feed_loss.reduction'),
    (dict(feed_loss=dict(type='FEEDLoss', loss_weight=-500.0)), None,
     'model.distiller.feed_loss.loss_weight'),
    (None, two_teachers(t0=dict(loss_weight=float('nan'))),
     'model.teachers.t0.loss_weight'),
    (None, two_teachers(t1=dict(loss_weight=float('inf'))),
     'model.teachers.t1.loss_weight'),
])
def test_bad_arguments_of_feed_parts_name_the_config_key(
        distiller, teachers, key):
    assert_config_error(key, teachers=teachers, distiller=distiller)


@pytest.mark.parametrize('where,key', [
    ('distiller', 'model.distiller.feed_loss.spatial_mismatch'),
    ('teacher', 'model.teachers.t1.feed_loss.spatial_mismatch'),
])
def test_spatial_mismatch_error_is_raised_at_build_time(where, key):
    # t1's layer3 map is 8x8, the student's last map 4x4.
    teachers = two_teachers(t1=dict(feature='backbone.layer3'))
    distiller = None
    if where == 'teacher':
        teachers['t1']['feed_loss'] = dict(spatial_mismatch='error')
    else:
        distiller = dict(
            feed_loss=dict(type='FEEDLoss', spatial_mismatch='error'))
    err = assert_config_error(key, teachers=teachers, distiller=distiller)
    assert '(8, 8)' in str(err) and '(4, 4)' in str(err)


@pytest.mark.parametrize('preds_t,key', [
    (dict(from_teacher='t0', record_idx=1),
     f'{MAPPINGS}.loss_kd.preds_T.record_idx'),
    (dict(from_teacher='t0', data_idx=0),
     f'{MAPPINGS}.loss_kd.preds_T.data_idx'),
])
def test_unreadable_records_are_rejected_at_build_time(preds_t, key):
    with pytest.raises(FEEDConfigError) as info:
        build_feed(distiller=kd_distiller(**preds_t))
    assert info.value.key == key


# ----------------------------------------------------------------------
# FEED maps found by the dry run ('auto', the default).
def vit(out_type):
    """A tiny ViT: its class token to a ViT head, or its token map,
    reshaped to (N, C, H, W), pooled by a neck."""
    pooled = out_type == 'featmap'
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=dict(type='VisionTransformer', img_size=64, patch_size=8,
                      arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                                feedforward_channels=64),
                      out_type=out_type),
        neck=dict(type='GlobalAveragePooling') if pooled else None,
        head=dict(type='LinearClsHead' if pooled else
                  'VisionTransformerClsHead', num_classes=10,
                  in_channels=32))


def test_auto_maps_are_the_last_spatial_map_before_pooling():
    convnext = dict(
        type='mmpretrain.ImageClassifier',
        # Pools inside its backbone: its output has no spatial map.
        backbone=dict(type='ConvNeXt', gap_before_final_norm=True,
                      arch=dict(depths=[1, 1, 1, 1],
                                channels=[8, 16, 32, 64])),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    algo = build_feed(input_shape=(3, 64, 64), teachers=dict(
        cnx=dict(model=convnext, ckpt=None),
        vit=dict(model=vit('featmap'), ckpt=None),
        res=dict(model=classifier(4), ckpt=None)))
    locations = algo.distiller.teacher_locations
    assert locations['cnx'].source == 'backbone.stages.3'
    # A ViT's token map, reshaped to (N, C, H, W) by its backbone; a
    # ResNet's backbone output, not its pooled neck.
    assert locations['vit'].source == locations['res'].source == 'backbone'
    assert algo.distiller.student_location.source == 'backbone'
    assert algo.distiller.translators['cnx'].out_channels == 64
    assert algo.distiller.translators['vit'].out_channels == 32
    assert all(torch.isfinite(v)
               for v in algo.loss(*batch(size=64)).values())


def test_vision_transformer_tokens_become_its_patch_map():
    """A ViT that classifies from its class token (a DeiT also keeps a
    distillation token): its last tokens, the extra ones dropped, restored
    to the patch grid of the actual input; its own output is unchanged."""
    deit = vit('cls_token')
    deit['backbone'] = dict(deit['backbone'],
                            type='DistilledVisionTransformer')
    deit['head'] = dict(deit['head'], type='DeiTClsHead')
    algo = build_feed(input_shape=(3, 64, 64), teachers=dict(
        vit=dict(model=vit('cls_token'), ckpt=None),
        deit=dict(model=deit, ckpt=None)))
    distiller = algo.distiller
    for name, extra in (('vit', 1), ('deit', 2)):
        location = distiller.teacher_locations[name]
        assert location.source == 'backbone.ln1'
        assert location.tokens.extra == extra
    inputs = batch(size=96)[0]  # another size than the model was built for
    algo.run_teachers(inputs, None)
    tokens = distiller.teacher_recorders['deit'].get_recorder(
        'feed_feature').data_buffer[0]
    feature_map = distiller.teacher_map('deit')
    assert tokens.shape == (4, 2 + 12 * 12, 32)
    assert feature_map.shape == (4, 32, 12, 12)
    # Patch (row 1, column 2) is token 2 + 1 * 12 + 2.
    assert torch.equal(feature_map[:, :, 1, 2], tokens[:, 2 + 14])
    distiller.clear_records()
    teacher = algo.teachers['vit']
    assert teacher(inputs, mode='tensor').shape == (4, 10)
    assert all(torch.isfinite(v)
               for v in algo.loss(*batch(size=64)).values())


def test_a_model_without_a_spatial_map_names_the_option():
    single_patch = vit('cls_token')
    single_patch['backbone'] = dict(single_patch['backbone'], patch_size=64)
    error = assert_config_error(
        'model.distiller.teacher_feature',
        teachers=dict(vit=dict(model=single_patch, ckpt=None)),
        input_shape=(3, 64, 64))
    assert "teacher 'vit'" in str(error)
    assert 'name a module' in str(error)
