"""What InfoGAN's codes control, judged by the digits classifier: python infogan_codes.py RUN"""
import json, sys
import numpy as np
import gankit
from gankit.latent import attributes, code_grids
g = code_grids(gankit.load(sys.argv[1]), rows=100, seed=0, span=2.0)
out = {}
x = g["cat0"]  # [100, 10, C, R, R]
pred = attributes(x.flatten(0, 1))["probs"].argmax(1).view(100, 10).numpy()
maj = [int(np.bincount(pred[:, v], minlength=10).argmax()) for v in range(10)]
purity = [float((pred[:, v] == maj[v]).mean()) for v in range(10)]
out["cat0"] = {"majority_digit": maj, "purity": purity, "mean_purity": float(np.mean(purity)),
               "distinct_digits": len(set(maj))}
for name in [k for k in g if k.startswith("cont")]:
    x = g[name]
    att = attributes(x.flatten(0, 1))
    ink = att["thickness"].view(100, -1).mean(0).numpy()
    kept = (att["probs"].argmax(1).view(100, -1) == att["probs"].argmax(1).view(100, -1)[:, 4:5]).float().mean(0).numpy()
    out[name] = {"values": [round(v, 2) for v in np.linspace(-2, 2, x.shape[1]).tolist()],
                 "ink": [round(float(v), 4) for v in ink], "class_kept_vs_middle": [round(float(v), 3) for v in kept]}
print(json.dumps(out))
