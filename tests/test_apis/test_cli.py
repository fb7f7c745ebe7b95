"""Config loading of the tools: the FEED dry run's input shape from the
training pipeline, and --cfg-options that cannot be merged named."""
import pytest

from feed_mm.apis import load_config
from feed_mm.apis.cli import pipeline_input_shape
from feed_mm.utils import FEEDConfigError

IMAGENET = 'configs/feed/ft_resnet34_resnet34_imagenet.py'
FMNIST = 'configs/feed/ft_resnet20_resnet20_fmnist.py'


@pytest.mark.parametrize('config, shape', [(IMAGENET, (3, 224, 224)),
                                           (FMNIST, (1, 28, 28))])
def test_input_shape_comes_from_the_pipeline(config, shape, tmp_path):
    assert pipeline_input_shape(load_config(config, str(tmp_path), None,
                                            'none')) == shape
    # Not written: taken from the pipeline.
    cfg = load_config(config, str(tmp_path), {'model.input_shape': None},
                      'none')
    assert tuple(cfg.model.input_shape) == shape
    # Written otherwise: refused, naming both.
    with pytest.raises(FEEDConfigError) as info:
        load_config(config, str(tmp_path),
                    {'model.input_shape': (3, 32, 32)}, 'none')
    assert info.value.key == 'model.input_shape'
    assert 'is (3, 32, 32), but' in str(info.value)
    assert f'give {shape} images' in str(info.value)


def test_unmergeable_cfg_options_are_named(tmp_path):
    with pytest.raises(FEEDConfigError) as info:
        load_config(FMNIST, str(tmp_path),
                    {'param_scheduler.milestones': [2, 3]}, 'none')
    assert info.value.key == '--cfg-options param_scheduler.milestones'
    assert 'param_scheduler.0.milestones' in str(info.value)
