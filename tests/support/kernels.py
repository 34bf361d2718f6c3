"""Which floating-point results this processor's PyTorch CPU kernels give.

PyTorch picks its CPU kernels by the instruction sets it finds (AVX2, AVX-512, AMX), and
kernels that sum in another order round differently: a weight recorded bit-exactly on one
processor is not what another computes, and Adam turns a last-bit difference into one of the
learning rate's size within a few steps. ``fingerprint()`` runs the kinds of kernel the tiny
test networks use (convolutions both ways, batch norm, linear layers, activations, a BCE loss,
their backward passes and an Adam step) on fixed inputs and hashes every result: two machines
with the same fingerprint compute the tiny runs alike. It uses torch alone, never ganforge,
so a change in ganforge cannot change it.
"""

from __future__ import annotations

import hashlib


def fingerprint() -> str:
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        G = nn.Sequential(nn.ConvTranspose2d(16, 8, 7, 1, 0), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.ConvTranspose2d(8, 1, 4, 2, 1), nn.Tanh())
        D = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(8, 8, 4, 2, 1),
                          nn.BatchNorm2d(8), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(8 * 3 * 3, 1))
        embed = nn.Embedding(10, 16)
        noise, labels = torch.randn(8, 16, 1, 1), torch.arange(8) % 10
        params = [*G.parameters(), *D.parameters(), *embed.parameters()]
        opt = torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))
        outputs = []
        for _ in range(2):
            images = G(noise + embed(labels)[:, :, None, None])
            scores = D(images)
            loss = nn.functional.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
            opt.zero_grad()
            loss.backward()
            opt.step()
            outputs += [images, scores, loss, *(p.grad for p in params)]
        outputs += [p.detach() for p in params]
    digest = hashlib.sha256()
    for tensor in outputs:
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]

