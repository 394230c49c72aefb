"""StyleGAN2 w: class3_to_8 at larger strengths, and the 90 pairs at strength 6 and 9 (same protocol as effect.py)."""
import json, sys
import gankit
from gankit.latent import LatentSpace, attributes, edit_effect, load_directions
ckpt, dfile, space = sys.argv[1], sys.argv[2], sys.argv[3]
m = gankit.load(ckpt)
dirs, _ = load_directions(dfile)
out = {"class3_to_8": edit_effect(m, dirs, "class3_to_8", [0, 6, 9, 12, 15], n=200, seed=1, space=space,
                                   source_class=3, target_class=8)}
ls = LatentSpace(m, space)
pool = ls.sample_codes(4000, 2)
pred = attributes(ls.images(pool))["probs"].argmax(1)
pairs = {}
for a in range(10):
    src = pool[pred == a][:100]
    for b in range(10):
        if a != b and f"class{a}_to_{b}" in dirs and len(src):
            for s in (6, 9):
                p = attributes(ls.images(src + s * dirs[f"class{a}_to_{b}"]))["probs"].argmax(1)
                pairs.setdefault(f"{a}->{b}", {})[s] = float((p == b).float().mean())
out["pairs"] = pairs
print(json.dumps(out))
