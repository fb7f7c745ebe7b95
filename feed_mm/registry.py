"""feed_mm's registry nodes, children of MMRazor's, as every OpenMMLab
project has its own.

feed_mm registers its modules in MMRazor's and MMPretrain's registries,
where the configs of both find them. These nodes give the scope
``feed_mm`` a place in each registry tree: MMEngine builds what a
``feed_mm::`` base config defines in that scope (``_scope_='feed_mm'``), and
from here a type resolves as it does in MMRazor's scope (FEED's configs are
written for it), MMPretrain's types with their ``mmpretrain.`` prefix.
"""
from mmengine.registry import Registry
from mmrazor.registry import DATA_SAMPLERS as MMRAZOR_DATA_SAMPLERS
from mmrazor.registry import DATASETS as MMRAZOR_DATASETS
from mmrazor.registry import HOOKS as MMRAZOR_HOOKS
from mmrazor.registry import LOOPS as MMRAZOR_LOOPS
from mmrazor.registry import METRICS as MMRAZOR_METRICS
from mmrazor.registry import MODEL_WRAPPERS as MMRAZOR_MODEL_WRAPPERS
from mmrazor.registry import MODELS as MMRAZOR_MODELS
from mmrazor.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMRAZOR_OPTIM_WRAPPER_CONSTRUCTORS
from mmrazor.registry import OPTIM_WRAPPERS as MMRAZOR_OPTIM_WRAPPERS
from mmrazor.registry import OPTIMIZERS as MMRAZOR_OPTIMIZERS
from mmrazor.registry import PARAM_SCHEDULERS as MMRAZOR_PARAM_SCHEDULERS
from mmrazor.registry import \
    RUNNER_CONSTRUCTORS as MMRAZOR_RUNNER_CONSTRUCTORS
from mmrazor.registry import RUNNERS as MMRAZOR_RUNNERS
from mmrazor.registry import TASK_UTILS as MMRAZOR_TASK_UTILS
from mmrazor.registry import TRANSFORMS as MMRAZOR_TRANSFORMS
from mmrazor.registry import VISBACKENDS as MMRAZOR_VISBACKENDS
from mmrazor.registry import VISUALIZERS as MMRAZOR_VISUALIZERS
from mmrazor.registry import \
    WEIGHT_INITIALIZERS as MMRAZOR_WEIGHT_INITIALIZERS

RUNNERS = Registry('runner', parent=MMRAZOR_RUNNERS)
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMRAZOR_RUNNER_CONSTRUCTORS)
LOOPS = Registry('loop', parent=MMRAZOR_LOOPS)
HOOKS = Registry('hook', parent=MMRAZOR_HOOKS)
DATASETS = Registry('dataset', parent=MMRAZOR_DATASETS)
DATA_SAMPLERS = Registry('data sampler', parent=MMRAZOR_DATA_SAMPLERS)
TRANSFORMS = Registry('transform', parent=MMRAZOR_TRANSFORMS)
MODELS = Registry('model', parent=MMRAZOR_MODELS)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMRAZOR_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMRAZOR_WEIGHT_INITIALIZERS)
OPTIMIZERS = Registry('optimizer', parent=MMRAZOR_OPTIMIZERS)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMRAZOR_OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMRAZOR_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMRAZOR_PARAM_SCHEDULERS)
METRICS = Registry('metric', parent=MMRAZOR_METRICS)
TASK_UTILS = Registry('task util', parent=MMRAZOR_TASK_UTILS)
VISUALIZERS = Registry('visualizer', parent=MMRAZOR_VISUALIZERS)
VISBACKENDS = Registry('vis_backend', parent=MMRAZOR_VISBACKENDS)
