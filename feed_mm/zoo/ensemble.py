"""The teachers' ensemble, the reference a FEED student is read against:
the teachers' averaged logits, scored by the config's own evaluators."""
import copy
from typing import Dict, Sequence

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.runner import Runner, load_checkpoint


@torch.no_grad()
def ensemble_metrics(cfg: Config, checkpoints: Sequence[str]
                     ) -> Dict[str, Dict[str, float]]:
    """Metrics of the models of ``checkpoints`` (all of ``cfg.model``'s
    architecture) with their logits averaged, on the config's validation
    and test data (whichever it has).

    Returns:
        dict: ``{'val': {metric: value}, 'test': {...}}``.
    """
    from mmpretrain.registry import MODELS
    scope = cfg.get('default_scope', 'mmpretrain')
    results: Dict[str, Dict[str, float]] = {}
    with DefaultScope.overwrite_default_scope(scope):
        models = []
        for checkpoint in checkpoints:
            model = MODELS.build(
                dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
            load_checkpoint(model, checkpoint, map_location='cpu',
                            strict=True)
            models.append(model.eval())
        for split in ('val', 'test'):
            loader_cfg = cfg.get(f'{split}_dataloader')
            if not loader_cfg:
                continue
            loader = Runner.build_dataloader(copy.deepcopy(loader_cfg))
            evaluator = Evaluator(copy.deepcopy(cfg.get(f'{split}_evaluator')))
            evaluator.dataset_meta = getattr(loader.dataset, 'metainfo', None)
            for batch in loader:
                data = models[0].data_preprocessor(batch, False)
                logits = torch.stack([
                    m(data['inputs'], mode='tensor') for m in models
                ]).mean(0)
                samples = data['data_samples']
                for sample, score in zip(samples, logits.softmax(-1)):
                    sample.set_pred_score(score)
                    sample.set_pred_label(score.argmax())
                evaluator.process(data_samples=samples, data_batch=batch)
            results[split] = {
                k: float(v)
                for k, v in evaluator.evaluate(len(loader.dataset)).items()
            }
    return results
