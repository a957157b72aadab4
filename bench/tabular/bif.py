"""Minimal BIF reader, forward sampler and CPT fitting for discrete Bayesian networks.

Handles the subset of BIF used by the bnlearn networks in ../shared/datasets/bn:
  variable X { type discrete [ k ] { s1, s2, ... }; }
  probability ( X ) { table p1, ..., pk; }
  probability ( X | A, B ) { (a, b) p1, ..., pk; ... }
"""
import re

import numpy as np


class Network:
    def __init__(self, names, states, parents, cpts):
        self.names = names          # variables in declaration order
        self.states = states        # name -> list of state labels
        self.parents = parents      # name -> list of parent names
        self.cpts = cpts            # name -> array (k_parent1, ..., k_parentm, k)
        self.order = self._topological()

    def _topological(self):
        done, order = set(), []
        pending = list(self.names)
        while pending:
            rest = []
            for v in pending:
                if all(p in done for p in self.parents[v]):
                    order.append(v)
                    done.add(v)
                else:
                    rest.append(v)
            if len(rest) == len(pending):
                raise ValueError("BIF network has a cycle")
            pending = rest
        return order

    def sample(self, n, seed):
        """n rows as a dict name -> int codes (ancestral sampling, numpy Generator(seed))."""
        rng = np.random.default_rng(seed)
        codes = {}
        for v in self.order:
            cpt = self.cpts[v]
            probs = cpt[tuple(codes[p] for p in self.parents[v])] if self.parents[v] else np.broadcast_to(cpt, (n, cpt.shape[-1]))
            cum = np.cumsum(probs, axis=1)
            u = rng.random(n) * cum[:, -1]
            codes[v] = np.minimum((cum <= u[:, None]).sum(axis=1), cpt.shape[-1] - 1)
        return codes

    def loglik(self, codes, cpts=None):
        """Per-row exact log-probability of the rows under the network (or under cpts, same structure)."""
        cpts = cpts or self.cpts
        n = len(codes[self.names[0]])
        ll = np.zeros(n)
        with np.errstate(divide="ignore"):
            for v in self.names:
                idx = tuple(codes[p] for p in self.parents[v]) + (codes[v],)
                ll += np.log(cpts[v][idx])
        return ll

    def fit(self, codes, pseudocount):
        """Maximum-likelihood CPTs on the same structure, with additive (Laplace) smoothing.
        A parent configuration never seen (and pseudocount 0) gets the uniform distribution,
        as pomegranate's ConditionalProbabilityTable.from_summaries does."""
        out = {}
        for v in self.names:
            counts = np.zeros(self.cpts[v].shape)
            idx = tuple(codes[p] for p in self.parents[v]) + (codes[v],)
            np.add.at(counts, idx, 1.0)
            k = counts.shape[-1]
            tot = counts.sum(axis=-1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = (counts + pseudocount) / (tot + pseudocount * k)
            p = np.where(tot + pseudocount * k > 0, p, 1.0 / k)
            out[v] = p
        return out


def _split_list(s):
    return [t.strip() for t in s.split(",") if t.strip()]


def parse_bif(path):
    text = open(path).read()
    text = re.sub(r"//[^\n]*", "", text)
    names, states, parents, cpts = [], {}, {}, {}
    for m in re.finditer(r"variable\s+([^\s{]+)\s*\{\s*type\s+discrete\s*\[\s*(\d+)\s*\]\s*\{([^}]*)\}\s*;", text):
        name, k, labels = m.group(1), int(m.group(2)), _split_list(m.group(3))
        if len(labels) != k:
            raise ValueError(f"{path}: variable {name} declares {k} states, lists {len(labels)}")
        names.append(name)
        states[name] = labels
    for m in re.finditer(r"probability\s*\(\s*([^|)]+?)\s*(?:\|\s*([^)]*))?\)\s*\{([^}]*)\}", text):
        child = m.group(1).strip()
        pars = _split_list(m.group(2) or "")
        body = m.group(3)
        shape = [len(states[p]) for p in pars] + [len(states[child])]
        cpt = np.full(shape, np.nan)
        for entry in body.split(";"):
            entry = entry.strip()
            if not entry:
                continue
            if entry.startswith("table"):
                vals = [float(x) for x in _split_list(entry[len("table"):])]
                if pars:  # rows: the child's states vary slowest in BIF "table" with parents
                    cpt = np.array(vals).reshape([shape[-1]] + shape[:-1])
                    cpt = np.moveaxis(cpt, 0, -1)
                else:
                    cpt = np.array(vals)
            elif entry.startswith("("):
                key, vals = entry[1:].split(")", 1)
                idx = tuple(states[p].index(lab) for p, lab in zip(pars, _split_list(key)))
                cpt[idx] = [float(x) for x in _split_list(vals)]
            else:
                raise ValueError(f"{path}: unsupported CPT entry for {child}: {entry[:40]}")
        if np.isnan(cpt).any():
            raise ValueError(f"{path}: CPT of {child} is incomplete")
        sums = cpt.sum(axis=-1)
        if np.abs(sums - 1).max() > 1e-3:
            raise ValueError(f"{path}: CPT of {child} rows do not sum to 1 (max error {np.abs(sums - 1).max():.2g})")
        parents[child] = pars
        cpts[child] = cpt / sums[..., None]
    missing = [v for v in names if v not in cpts]
    if missing:
        raise ValueError(f"{path}: no CPT for {missing}")
    return Network(names, states, parents, cpts)
