"""A digit classifier trained by ganforge on the bundled MNIST subset.

It judges generated digits offline: whether a conditional GAN draws the class it
was asked for, whether a translation keeps the digit. It is trained on the
4,500-digit train split only, checked on the 500 held-out digits, and shipped as
``ganforge/data/files/digit_classifier.safetensors``, pinned by its SHA-256 so that
figures computed with it mean the same thing everywhere.

Rebuild it with ``python -m ganforge.evaluation.digits`` (about 4 minutes on 2 CPU cores), then
update ``DIGIT_CLASSIFIER_SHA256``. The shipped weights score 97.2% on the held-out digits.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import bundled_file
from ganforge.errors import GanforgeError

WEIGHTS = "digit_classifier.safetensors"  # in ganforge/data/files/
DIGIT_CLASSIFIER_SHA256 = "384ad62b27e8f4e38f4935e612950162bb4c0d751245d6a8bdc02838d4c4f389"


class DigitClassifier(nn.Module):
    """A small CNN for 28x28 digits in [-1, 1]: two conv blocks and two linear layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                                  nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.features(x))

    @torch.no_grad()
    def predict(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """Class of each image (N x 1 x 28 x 28 in [-1, 1]; other sizes are resized)."""
        self.eval()
        if images.shape[-1] != 28:
            images = F.interpolate(images.float(), size=(28, 28), mode="bilinear", antialias=True)
        if images.shape[1] == 3:
            images = images.mean(1, keepdim=True)
        out = [self(images[i:i + batch_size].float()).argmax(1) for i in range(0, len(images), batch_size)]
        return torch.cat(out)


def weights_sha256() -> str:
    data = bundled_file(WEIGHTS).read_bytes()
    return hashlib.sha256(data).hexdigest()


def load_digit_classifier(device="cpu") -> DigitClassifier:
    """The shipped classifier, after checking its hash."""
    from safetensors.torch import load

    path = bundled_file(WEIGHTS)
    if not path.is_file():
        raise GanforgeError("the digit classifier's weights are missing from the installation; "
                            "rebuild them with: python -m ganforge.evaluation.digits")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != DIGIT_CLASSIFIER_SHA256:
        raise GanforgeError(f"digit classifier weights have SHA-256 {digest[:12]}..., expected {DIGIT_CLASSIFIER_SHA256[:12]}...")
    model = DigitClassifier()
    model.load_state_dict(load(data))
    return model.eval().to(device)


def train_digit_classifier(epochs: int = 15, seed: int = 0, log=print) -> tuple[DigitClassifier, float]:
    """Train on the bundled train split with small random shifts and rotations;
    returns the model and its accuracy on the 500 held-out digits."""
    from torchvision.transforms import v2

    from ganforge.hooks.manager import get

    torch.manual_seed(seed)
    train, test = get("datasets", "mnist-5k")(split="train"), get("datasets", "mnist-5k")(split="test")
    model = DigitClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * (len(train) // 64))
    augment = v2.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1), fill=-1.0)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(train))
        for i in range(len(train) // 64):
            idx = perm[i * 64:(i + 1) * 64]
            loss = F.cross_entropy(model(augment(train.images[idx])), train.labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        accuracy = (model.predict(test.images) == test.labels).float().mean().item()
        log(f"epoch {epoch + 1}/{epochs}: held-out accuracy {accuracy:.4f}")
    return model.eval(), accuracy


if __name__ == "__main__":
    from pathlib import Path

    from safetensors.torch import save_file

    model, accuracy = train_digit_classifier()
    target = Path(str(bundled_file(WEIGHTS)))  # a file in the source tree, written in place
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, target,
              metadata={"held_out_accuracy": f"{accuracy:.4f}", "train_split": "mnist-5k train (4,500)"})
    print(f"wrote {target}; held-out accuracy {accuracy:.4f}; sha256 {weights_sha256()}")
