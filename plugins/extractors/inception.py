"""Inception-v3 features, the usual basis of FID, KID and the Inception Score.

The weights are torchvision's ImageNet ones (``IMAGENET1K_V1``): downloaded once
when online, or read from ``--weights PATH`` (a state dict saved with
``torch.save``, loaded with ``weights_only=True``). They are not the TensorFlow
weights of the original FID code, so absolute FIDs differ from published ones;
compare runs with each other, and the weights' SHA-256 is recorded with every
result for that reason.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.plugin import Extractor, first_line, GanforgeError

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def _download() -> Path:
    from torchvision.models import Inception_V3_Weights

    weights = Inception_V3_Weights.IMAGENET1K_V1
    try:
        weights.get_state_dict(progress=True)
    except Exception as exc:  # urllib raises many kinds offline
        raise GanforgeError(f"cannot download the Inception-v3 weights ({type(exc).__name__}); "
                            "offline, pass a local copy with --weights PATH or use --extractor digits") from None
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name


class InceptionFeatures(Extractor):
    """2048 pooled features and 1000 ImageNet logits; images are resized to 299 x 299."""

    name, num_features, num_classes = "inception", 2048, 1000
    channels, domain = (1, 3), "photographs (ImageNet)"

    def __init__(self, weights=None, device="cpu"):
        from torchvision.models import inception_v3

        path = Path(weights) if weights else _download()
        if not path.is_file():
            raise GanforgeError(f"Inception weights file '{path}' does not exist")
        data = path.read_bytes()
        self.sha256 = hashlib.sha256(data).hexdigest()
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model = inception_v3(weights=None, aux_logits=True, init_weights=False)
            model.load_state_dict(state)
        except Exception as exc:
            raise GanforgeError(f"'{path}' is not an Inception-v3 state dict: {first_line(exc)[:160]}") from None
        self.model, self.device = model.eval().to(device), torch.device(device)

    @torch.no_grad()
    def __call__(self, images):
        x = images.to(self.device, torch.float32)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate((x + 1) / 2, size=(299, 299), mode="bilinear", antialias=True)
        x = (x - MEAN.to(x.device)) / STD.to(x.device)
        m = self.model
        m.fc, fc = torch.nn.Identity(), m.fc
        try:
            features = m(x)
        finally:
            m.fc = fc
        return features, fc(features)
