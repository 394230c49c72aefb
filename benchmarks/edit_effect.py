"""Measured effect of saved directions (gankit.latent.edit_effect), judged by the digits classifier.

    python benchmarks/edit_effect.py CKPT DIRS SPACE           # strengths for z (DCGAN)
    python benchmarks/edit_effect.py CKPT DIRS SPACE --large   # larger strengths (StyleGAN2 w)

Prints JSON: per direction, rows of strength / p_target / thickness / kept_class (default: the
class3_to_8 and class8 edits of 200 "3"s and the two thickness directions on 500 samples;
--large: class3_to_8 only), and "pairs": for every class pair a->b, the fraction of 100 samples
of class a classified b after moving along class{a}_to_{b} (strengths 1, 2, 3; --large: 6, 9).
"""
import json
import sys

import gankit
from gankit.latent import LatentSpace, attributes, edit_effect, load_directions

ckpt, dfile, space = sys.argv[1:4]
large = "--large" in sys.argv[4:]
m = gankit.load(ckpt)
dirs, _ = load_directions(dfile)
out = {}
if large:
    out["class3_to_8"] = edit_effect(m, dirs, "class3_to_8", [0, 6, 9, 12, 15], n=200, seed=1, space=space,
                                     source_class=3, target_class=8)
else:
    for name in ("class3_to_8", "class8"):
        out[name] = edit_effect(m, dirs, name, [0, 1, 2, 3, 4, 6], n=200, seed=1, space=space,
                                source_class=3, target_class=8)
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
            for s in ((6, 9) if large else (1, 2, 3)):
                p = attributes(ls.images(src + s * dirs[f"class{a}_to_{b}"]))["probs"].argmax(1)
                pairs.setdefault(f"{a}->{b}", {})[s] = float((p == b).float().mean())
out["pairs"] = pairs
print(json.dumps(out))
