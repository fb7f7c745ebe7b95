"""The numbers of a FEED run do not move when the code around the method
changes: the loss terms of the first training iterations of pFEED-2 + logit
KD on digits (the committed teachers, a fixed seed, one thread) are
compared bit for bit with the values the code gave when the zoo's results
were measured (float.hex; this machine's CPU and torch)."""
import os.path as osp

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from feed_mm.apis import load_config
from tests.helpers import REPO, TINY, default_scope_kept, parse_cfg_options

CONFIG = 'configs/feed/pfeed_kd_resnet20_2xresnet20_digits.py'
PINNED = [
    {
        'loss': '0x1.d79ed60000000p+4',
        'student.loss': '0x1.2795100000000p+1',
        'distill.loss_feed_t0': '0x1.97dad80000000p+2',
        'distill.loss_feed_t1': '0x1.920f960000000p+2',
        'distill.loss_kd_t0': '0x1.b816b40000000p+2',
        'distill.loss_kd_t1': '0x1.e8afa80000000p+2',
    },
    {
        'loss': '0x1.dc98520000000p+4',
        'student.loss': '0x1.25824a0000000p+1',
        'distill.loss_feed_t0': '0x1.949fce0000000p+2',
        'distill.loss_feed_t1': '0x1.8fb1100000000p+2',
        'distill.loss_kd_t0': '0x1.c0b93c0000000p+2',
        'distill.loss_kd_t1': '0x1.fa96080000000p+2',
    },
    {
        'loss': '0x1.bfa3c00000000p+4',
        'student.loss': '0x1.33e8820000000p+1',
        'distill.loss_feed_t0': '0x1.68143a0000000p+2',
        'distill.loss_feed_t1': '0x1.5a2b580000000p+2',
        'distill.loss_kd_t0': '0x1.b797b40000000p+2',
        'distill.loss_kd_t1': '0x1.eac37a0000000p+2',
    },
    {
        'loss': '0x1.b65b000000000p+4',
        'student.loss': '0x1.45a0680000000p+1',
        'distill.loss_feed_t0': '0x1.504a080000000p+2',
        'distill.loss_feed_t1': '0x1.3d9e740000000p+2',
        'distill.loss_kd_t0': '0x1.bb755a0000000p+2',
        'distill.loss_kd_t1': '0x1.ed3dfa0000000p+2',
    },
]


class _Losses(Hook):

    def __init__(self):
        self.iterations = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.iterations.append({name: value.item().hex()
                                for name, value in outputs.items()})


def first_iterations_losses(work_dir):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = load_config(osp.join(REPO, CONFIG), work_dir,
                          parse_cfg_options(TINY + [
                              'train_dataloader.dataset.indices=256']),
                          'none')
        cfg.randomness = dict(seed=1000)
        losses = _Losses()
        with default_scope_kept():
            runner = Runner.from_cfg(cfg)
            runner.register_hook(losses)
            runner.train()
    finally:
        torch.set_num_threads(threads)
    return losses.iterations


def test_first_iterations_losses_are_bit_identical(tmp_path):
    assert first_iterations_losses(str(tmp_path)) == PINNED
