"""FEED's teachers as configured (:class:`TeacherSpec`, plain data), and
the building of each teacher and student: model, checkpoint, freezing."""
import copy
import re
from collections import OrderedDict
from dataclasses import dataclass
from inspect import Parameter, signature
from typing import Any, Dict, Mapping, Optional, Union

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmrazor.registry import MODELS

from feed_mm.models.distillers.validation import suggest
from feed_mm.utils import FEEDConfigError
from feed_mm.utils.weights import load_weights, zoo_model

TEACHER_OPTION_KEYS = ('model', 'overrides', 'ckpt', 'feature', 'loss_weight',
                       'translator', 'feed_loss')
# A model named with overrides: dict(model=NAME, overrides=dict(...)).
NAMED_MODEL_KEYS = ('model', 'overrides', 'pretrained')
# A teacher's name becomes a module path and a loss key.
_TEACHER_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
ModelSpec = Union[str, Dict, nn.Module]


@dataclass
class TeacherSpec:
    """One teacher of FEED, as configured: its ``name`` (``t0``, ``t1``,
    ... for a list), ``model`` (as :func:`build_model` takes it) and the
    ``overrides`` of a named model's config, ``ckpt`` (file, work dir or
    URL; None: random), and the options that override the distiller's for
    it: ``feature``, ``loss_weight`` (``w_n``), ``translator`` and
    ``feed_loss`` overrides."""
    name: str
    model: ModelSpec
    overrides: Optional[Dict] = None
    ckpt: Optional[str] = None
    feature: Optional[Union[str, Dict]] = None
    loss_weight: Any = 1.0
    translator: Optional[Dict] = None
    feed_loss: Optional[Dict] = None

    @property
    def key(self) -> str:
        """The config key of this teacher, for error messages."""
        return f'model.teachers.{self.name}'


def parse_teachers(teachers: Any, allow_random: bool = False
                   ) -> 'OrderedDict[str, TeacherSpec]':
    """The ``teachers`` argument (a dict ``name -> dict(model=...,
    ckpt=..., **options)`` or ``name -> model name``, or a list of those
    values, named ``t0``, ``t1``, ...) as ordered ``name -> TeacherSpec``;
    ``ckpt`` defaults to a zoo model's released weights, ``ckpt=None`` (a
    random teacher) needs ``allow_random``."""
    key = 'model.teachers'
    if isinstance(teachers, (list, tuple)):
        teachers = OrderedDict(
            (f't{i}', spec) for i, spec in enumerate(teachers))
    if not isinstance(teachers, Mapping):
        raise FEEDConfigError(
            key, 'must be a dict of teacher name -> dict(model=..., '
            f'ckpt=...) or a list of those, got {type(teachers).__name__}')
    if not teachers:
        raise FEEDConfigError(key, 'FEED needs at least one teacher')
    specs: 'OrderedDict[str, TeacherSpec]' = OrderedDict()
    for name, options in teachers.items():
        t_key = f'{key}.{name}'
        if not isinstance(name, str) or not _TEACHER_NAME.match(name):
            raise FEEDConfigError(
                t_key, 'a teacher name must be an identifier (letters, '
                'digits, underscores), as it names modules and loss terms')
        if isinstance(options, str):  # a model name: its released weights
            options = dict(model=options)
        if not isinstance(options, Mapping):
            raise FEEDConfigError(
                t_key, 'a teacher is dict(model=..., ckpt=...), got '
                f'{type(options).__name__}')
        for option in options:
            if option not in TEACHER_OPTION_KEYS:
                raise FEEDConfigError(
                    f'{t_key}.{option}', 'unknown teacher option (allowed: '
                    f'{", ".join(TEACHER_OPTION_KEYS)})')
        if 'model' not in options:
            raise FEEDConfigError(f'{t_key}.model', 'is required')
        zoo = zoo_model(named_model(options['model'], f'{t_key}.model')[0],
                        f'{t_key}.model')
        if 'ckpt' not in options and zoo and zoo[1] and (
                zoo[2] or isinstance(options['model'], str)):
            options = dict(options, ckpt=zoo[1])  # the released weights
        # A forgotten checkpoint would train from a random teacher; only an
        # explicit ckpt=None under allow_random_teachers means that.
        if options.get('ckpt') is None and not (allow_random
                                                and 'ckpt' in options):
            raise FEEDConfigError(
                f'{t_key}.ckpt', 'is required (a teacher checkpoint file, '
                'work dir or URL); a randomly initialised teacher, for tests '
                'and benchmarks only, is ckpt=None with '
                'model.allow_random_teachers=True')
        specs[name] = TeacherSpec(name=name, **options)
    return specs


def build_teacher(spec: TeacherSpec) -> BaseModel:
    """The frozen teacher of ``spec``: built, loaded from its checkpoint
    (or left random, with a warning), without gradients."""
    model_spec = spec.model
    if spec.overrides is not None:
        model_spec = dict(model=spec.model, overrides=spec.overrides)
    teacher = build_model(model_spec, f'{spec.key}.model',
                          load_pretrained=False)
    # Same reason as MMRazor: inplace ops in a frozen teacher could
    # overwrite a recorded feature map.
    for module in teacher.modules():
        if hasattr(module, 'inplace'):
            module.inplace = False
    if spec.ckpt is not None:
        model = named_model(spec.model, spec.key)[0]
        if isinstance(model, Mapping):
            model = model.get('cfg_path')
        load_weights(teacher, spec.ckpt, f'{spec.key}.ckpt',
                     f'teacher {spec.name!r}' + (f' ({model})' if isinstance(
                         model, str) else ''))
    else:
        print_log(
            f'Teacher {spec.name!r} has no checkpoint: it keeps its '
            'random initialisation.', logger='current',
            level=30)
    # Runner.init_weights must not re-initialise loaded teachers.
    teacher._is_init = True
    for param in teacher.parameters():
        param.requires_grad_(False)
    return teacher


def named_model(spec: ModelSpec, key: str) -> tuple:
    """A model spec with the form ``dict(model=NAME, overrides=dict(...),
    pretrained=False)`` split into the spec of the name (what
    :func:`~feed_mm.utils.weights.zoo_model` takes) and its overrides; any
    other spec comes back as it is, with no overrides."""
    if not isinstance(spec, Mapping) or 'model' not in spec:
        return spec, None
    unknown = sorted(set(spec) - set(NAMED_MODEL_KEYS))
    if unknown:
        raise FEEDConfigError(
            f'{key}.{unknown[0]}', 'unknown key of a named model (allowed: '
            f'{", ".join(NAMED_MODEL_KEYS)})')
    name = spec['model']
    if not isinstance(name, str):
        raise FEEDConfigError(f'{key}.model', 'must be an MMPretrain model '
                              f"name or a 'package::config.py' path, got "
                              f'{name!r}')
    if spec.get('pretrained'):
        name = dict(cfg_path=name, pretrained=True)
    return name, spec.get('overrides')


def build_model(spec: ModelSpec, key: str,
                load_pretrained: bool = True) -> BaseModel:
    """Build a student or teacher from a model dict, a built model, an
    MMPretrain model name, a ``'package::path/to/config.py'`` config,
    MMRazor's ``dict(cfg_path=..., pretrained=...)``, or a name with
    overrides, ``dict(model=NAME, overrides=dict(backbone=dict(...)))``
    (merged into the named config as ``mmpretrain.get_model(NAME,
    **overrides)`` merges its keyword arguments); with
    ``load_pretrained``, ``pretrained=True`` loads the released weights.

    A model dict whose type is not in MMRazor's registry is built in
    MMPretrain's scope, so mmpretrain model dicts work unprefixed.
    """
    if isinstance(spec, nn.Module):
        model = spec
    else:
        spec, overrides = named_model(spec, key)
        zoo = zoo_model(spec, key)
        if zoo is None and not isinstance(spec, Mapping):
            raise FEEDConfigError(
                key, 'expected a model config dict, a built model, an '
                "MMPretrain model name or a 'package::config.py' path, got "
                f'{type(spec).__name__}')
        cfg = zoo[0] if zoo else copy.deepcopy(dict(spec))
        if overrides is not None:
            if zoo is None:
                raise FEEDConfigError(
                    _overrides_key(key), 'overrides apply to a model named '
                    'from the zoo; edit a model dict itself')
            cfg = apply_overrides(cfg, overrides, _overrides_key(key))
        model_type = cfg.get('type')
        if model_type is None:
            raise FEEDConfigError(key, 'the model config has no type')
        # The nested builds (backbone, head, ...) resolve their types in
        # the default scope; a 'scope.Type' prefix alone does not switch
        # it, so the model is built under its own scope instead.
        if isinstance(model_type, str) and '_scope_' not in cfg:
            scope, _, name = model_type.rpartition('.')
            if scope:
                cfg.update(type=name, _scope_=scope)
            else:
                cfg['_scope_'] = ('mmrazor' if MODELS.get(model_type)
                                  else 'mmpretrain')
        try:
            model = MODELS.build(cfg)
        except FEEDConfigError:
            raise
        except Exception as err:  # the registry wraps all build errors
            raise FEEDConfigError(key, f'cannot build the model: {err}') \
                from err
        if zoo and zoo[2] and load_pretrained:
            if zoo[1] is None:
                raise FEEDConfigError(
                    key, f'pretrained=True, but {spec["cfg_path"]} has no '
                    'released weights in its metafile')
            load_weights(model, zoo[1], key, f'the model {spec["cfg_path"]}')
    if not isinstance(model, BaseModel):
        raise FEEDConfigError(
            key, 'expected an MMEngine BaseModel (e.g. an mmpretrain '
            f'ImageClassifier), got {type(model).__name__}')
    return model


def _overrides_key(model_key: str) -> str:
    """The config key of the overrides that go with ``model_key``: a
    teacher's ``overrides`` option, or the ``overrides`` of the model's own
    ``dict(model=..., overrides=...)``."""
    if model_key.startswith('model.teachers.') and \
            model_key.endswith('.model'):
        return model_key[:-len('model')] + 'overrides'
    return f'{model_key}.overrides'


def apply_overrides(cfg: Dict, overrides: Any, key: str) -> Dict:
    """The model config ``cfg`` with ``overrides`` merged in (nested dicts
    merge, ``_delete_=True`` replaces), once every key is checked: it is in
    the config, or an argument of the type it configures."""
    if not isinstance(overrides, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {overrides!r}')
    _check_override_keys(cfg, overrides, key, cfg.get('_scope_'))
    merged = Config(dict(model=cfg))
    merged.merge_from_dict(dict(model=copy.deepcopy(dict(overrides))))
    return merged.model.to_dict()


def _check_override_keys(cfg: Mapping, overrides: Mapping, key: str,
                         scope: Optional[str]) -> None:
    options = set(cfg) | _arguments(cfg.get('type'), scope)
    for name, value in overrides.items():
        if name == '_delete_':
            continue
        if name not in options and '**' not in options:
            known = sorted(option for option in options
                           if not option.startswith('_'))
            raise FEEDConfigError(
                f'{key}.{name}', f'is not an option of '
                f'{cfg.get("type", "this config")}.' + suggest(name, known))
        if isinstance(value, Mapping) and isinstance(cfg.get(name), Mapping):
            _check_override_keys(cfg[name], value, f'{key}.{name}', scope)


def _arguments(type_name: Any, scope: Optional[str]) -> set:
    """The constructor arguments of a registered type (``'**'`` when it
    takes any keyword); none when the type is not found."""
    if not isinstance(type_name, str):
        return set()
    if '.' not in type_name and scope:
        type_name = f'{scope}.{type_name}'
    cls = MODELS.get(type_name)
    if cls is None:
        return set()
    params = signature(cls).parameters.values()
    return {'**' if p.kind is Parameter.VAR_KEYWORD else p.name
            for p in params}
