"""Measured effect of saved directions (gankit.latent.edit_effect).
python benchmarks/edit_effect.py CKPT DIRS SPACE  ->  JSON: per direction, rows of strength / p_target / thickness / kept_class,
and "pairs": for every class pair a->b, the fraction of 100 samples of a classified b at strength 2 of class{a}_to_{b}."""
import json, sys
import torch
import gankit
from gankit.latent import LatentSpace, attributes, edit_effect, load_directions
ckpt, dfile, space = sys.argv[1], sys.argv[2], sys.argv[3]
m = gankit.load(ckpt)
dirs, _ = load_directions(dfile)
out = {}
for name, src, tgt in [("class3_to_8", 3, 8), ("class8", 3, 8)]:
    out[name] = edit_effect(m, dirs, name, [0, 1, 2, 3, 4, 6], n=200, seed=1, space=space,
                            source_class=src, target_class=tgt)
for name in ("thickness", "thickness_keep_class"):
    out[name] = edit_effect(m, dirs, name, [-3, -2, -1, 0, 1, 2, 3], n=500, seed=1, space=space)
ls = LatentSpace(m, space)
pool = ls.sample_codes(4000, 2)
pred = attributes(ls.images(pool))["probs"].argmax(1)
pairs = {}
for a in range(10):
    src = pool[pred == a][:100]
    for b in range(10):
        if a != b and f"class{a}_to_{b}" in dirs and len(src):
            for s in (1, 2, 3):
                p = attributes(ls.images(src + s * dirs[f"class{a}_to_{b}"]))["probs"].argmax(1)
                pairs.setdefault(f"{a}->{b}", {})[s] = float((p == b).float().mean())
out["pairs"] = pairs
print(json.dumps(out))
