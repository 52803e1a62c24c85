"""Small real-config recognizers for the deployment tests (random weights, CPU)."""
import os

import torch
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = 7


def small_config(name: str, **backbone) -> Config:
    """``configs/<name>.py`` with ``NUM_CLASSES`` classes and backbone overrides."""
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', f'{name}.py'))
    cfg.model.cls_head.num_classes = NUM_CLASSES
    cfg.model.backbone.update(backbone)
    return cfg


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Non-trivial BN statistics and a head whose logits spread (the configs' init gives
    near-identical ones); in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
        fc = model.cls_head.fc_cls
        fc.weight.copy_(torch.randn(fc.weight.shape, generator=gen) * 0.5)
    return model.eval()


def build(cfg: Config) -> torch.nn.Module:
    from mmaction.apis import init_recognizer
    return randomise(init_recognizer(cfg, None, device='cpu'))


def save_checkpoint(model: torch.nn.Module, path: str) -> str:
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def reference_scores(model, clips: torch.Tensor) -> torch.Tensor:
    """Scores computed directly from the recognizer's parts (independent of the export
    wrapper): preprocessor mean/std, backbone, head."""
    pre = model.data_preprocessor
    with torch.no_grad():
        if clips.shape[2] == 3:  # (N, T, 3, H, W)
            n, t = clips.shape[:2]
            x = (clips.reshape(n * t, *clips.shape[2:]) - pre.mean) / pre.std
            return model.cls_head(model.backbone(x), num_segs=t)
        x = (clips - pre.mean) / pre.std        # (N, 3, T, H, W), mean (3, 1, 1, 1)
        return model.cls_head(model.backbone(x))


def random_clips(n: int, clip_shape, seed: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand((n,) + tuple(clip_shape), generator=gen) * 255


def assert_close_scores(got: torch.Tensor, ref: torch.Tensor, rel: float = 1e-4) -> None:
    """max |got - ref| <= rel * max |ref| and the same top-1 for every clip."""
    scale = float(ref.abs().max())
    diff = float((got - ref).abs().max())
    assert diff <= rel * scale, f'max abs diff {diff:.3g} > {rel} x logit scale {scale:.3g}'
    assert torch.equal(got.argmax(1), ref.argmax(1))
