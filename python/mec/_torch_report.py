"""The report of mec.torch.convert(): which layers run on libmec, which stay
native and why, and per layer and pass the plan made (algorithm, variant,
workspace bytes). It is filled as plans are made (at a layer's first call of
each input shape), so it exists apart from the per-call code."""
from collections import namedtuple

LayerPlan = namedtuple("LayerPlan", "name pass_ input_shape algorithm variant workspace_bytes "
                                    "device")
LayerPlan.__doc__ = ("One plan of a converted layer: its module name, pass ('fwd', 'bwd_data', "
                     "'bwd_weights'), input shape (NCHW), libmec's algorithm and variant, the "
                     "workspace bytes it needs and its device ('cpu', 'cuda:0').")


class ConvertReport:
    """What convert() did. Attributes: converted (layer names), native
    ((name, reason) pairs), plans (LayerPlan rows, in the order made),
    workspace_limit and algo (convert's arguments). workspace_bytes(device)
    is the largest need of the plans on that device: the size of its shared
    workspace when this model alone uses it."""

    def __init__(self, workspace_limit, algo):
        self.workspace_limit = workspace_limit
        self.algo = algo
        self.converted = []
        self.native = []
        self.plans = []

    def _converted(self, name):
        self.converted.append(name)

    def _native(self, name, reason):
        self.native.append((name, reason))

    def _add(self, name, pass_, geo, plan, dev):
        device = "cpu" if dev[0] == "cpu" else f"cuda:{dev[1]}"
        n = geo[0]
        self.plans.append(LayerPlan(name, pass_, (n,) + tuple(geo[1:4]), plan.algorithm,
                                    plan.variant, plan.workspace_bytes, device))

    def workspace_bytes(self, device="cpu"):
        return max((p.workspace_bytes for p in self.plans if p.device == device), default=0)

    def __str__(self):
        rows = [("layer", "pass", "input (NCHW)", "algorithm", "variant", "workspace bytes")]
        rows += [(p.name, p.pass_, "x".join(map(str, p.input_shape)), p.algorithm, p.variant,
                  str(p.workspace_bytes)) for p in self.plans]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(f"{len(self.converted)} layers on libmec (algo={self.algo!r}, "
                     f"workspace_limit={self.workspace_limit}); shared workspace "
                     f"{self.workspace_bytes()} bytes on the CPU")
        for name, why in self.native:
            lines.append(f"native: {name} ({why})")
        return "\n".join(lines)

    __repr__ = __str__
