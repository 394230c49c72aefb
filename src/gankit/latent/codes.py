"""InfoGAN (Chen et al. 2016): one grid per latent code, the other codes fixed."""
from __future__ import annotations

from pathlib import Path

import torch

from .. import viz
from ..checkpoint import Model, unwrap
from ..errors import UserError


@torch.no_grad()
def code_grids(model: Model, rows: int = 8, seed: int = 0, span: float = 2.0, cols: int = 9) -> dict[str, torch.Tensor]:
    """InfoGAN (Chen et al. 2016, fig. 2): one grid per code, the rest fixed. ``cat{i}``: rows of
    fixed noise (continuous codes 0, other categorical codes fixed per row), columns = the
    categories of code i. ``cont{j}``: rows of fixed noise and categorical codes (row r takes
    category r of the first code), columns = code j from -span to +span (the paper varies
    -2..2, beyond the U(-1, 1) training range), other continuous codes 0.
    Returns name -> images ``[rows, cols_i, C, R, R]``."""
    recipe = model.recipe
    if not recipe.latent_codes:
        raise UserError(f"--code-grid: only InfoGAN checkpoints have latent codes; recipe "
                        f"{model.config.recipe!r} has none")
    if rows < 1:
        raise UserError(f"--code-grid: need at least one row, got {rows}")
    G = unwrap(model.generator)
    cats, n_cont = list(recipe.opts["cat"]), int(recipe.opts["cont"])
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(rows, G.z_dim - recipe.code_dim(recipe.opts), generator=g)  # [rows, Z]
    base_cat = torch.stack([torch.randint(k, (rows,), generator=g) for k in cats], 1) if cats \
        else torch.zeros(rows, 0, dtype=torch.long)
    if cats:
        base_cat[:, 0] = torch.arange(rows) % cats[0]
    base_cont = torch.zeros(rows, n_cont)
    grids = {}
    for i, k in enumerate(cats):
        imgs = []
        for v in range(k):
            cat = base_cat.clone()
            cat[:, i] = v
            imgs.append(G(recipe.latent(noise, cat, base_cont), None).float())
        grids[f"cat{i}"] = torch.stack(imgs, 1)
    for j in range(n_cont):
        imgs = []
        for v in torch.linspace(-span, span, cols):
            cont = base_cont.clone()
            cont[:, j] = v
            imgs.append(G(recipe.latent(noise, base_cat, cont), None).float())
        grids[f"cont{j}"] = torch.stack(imgs, 1)
    return grids


def write_code_grids(model: Model, out: str | Path, rows: int = 8, seed: int = 0, span: float = 2.0) -> dict:
    """Write ``code_<name>.png`` for every InfoGAN code (see :func:`code_grids`)."""
    from ..provenance import provenance

    grids = code_grids(model, rows, seed, span)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, x in grids.items():
        f = out / f"code_{name}.png"
        viz.save_grid(x.flatten(0, 1), f, nrow=x.shape[1],
                      pnginfo={**provenance(model, seed), "gankit:code": name, "gankit:span": span})
        written[f"code_{name}"] = f
    return written
