#!/usr/bin/env python3
"""Fits the constants of kAuto's CPU cost model (src/cpu/auto_cpu.cc) to
mecbench timings, and says how well the fitted model picks.

The model is the one in auto_cpu.cc, written again here: keep the two the
same. Input: mecbench --json files (or the slimmed records in
bench/calibration/) of runs with --algo direct,im2col,mec_a,mec_b,mec,fft,
winograd_f2,winograd_f4 --check none, at the batch sizes and thread counts
the model should serve. The fit minimises the squared log error of every
prediction plus a penalty for picking a slower algorithm than the fastest
measured, by coordinate descent from the current constants (deterministic).
Output: the CpuCostModel initializer to paste into auto_cpu.cc, each
algorithm's prediction error, and the picks' time over the fastest's
(geomean, worst) per layer. Usage (docs/auto.md):

  python3 scripts/fit-cpu-cost-model.py bench/calibration/cpu-zen5.json [more.json ...]
"""
import json
import math
import re
import sys

# The constants auto_cpu.cc ships (the starting point of the fit).
START = dict(gemm_rate=1.25e11, gemm_n0=18.56, gemm_k0=26.43, lowering=4.19e-11,
             lowering_per_column=1.52e-9, blas_rate=5.751e10, im2col_column=1.049e-9,
             direct_rate=3.717e10, direct_n0=21.83, direct_k0=11.14, direct_output=1.629e-20,
             depthwise_rate=1.6e11, depthwise_output=2.5e-10,
             winograd_gemm=0.5015, winograd_m0=15.64, winograd_transform_f2=1.195e-20,
             winograd_transform_f4=6.29e-13, fft_rate=4.106e10, fft_io=1.288e-8,
             parallel=0.9529, winograd_parallel=0.476)
EXPONENTS = ('parallel', 'winograd_parallel')  # kept at most 1
# Direct's depthwise path was measured apart (auto_cpu.cc): the calibration
# data's direct timings of depthwise layers predate it, so these constants
# are not fitted to them, and the depthwise layers' direct records are left
# out of the fit until the calibration data is retaken.
FIXED = ('depthwise_rate', 'depthwise_output')


def shape_of(text, batch):
    v = dict(n=1, h=1, w=1, c=1, k=1, r=1, s=1, g=1, p=0, u=1, d=1)
    for key, num in re.findall(r'([a-z]+)(\d+)', text):
        v[key] = int(num)
    for side in ('pt', 'pb', 'pl', 'pr'):
        v.setdefault(side, v['p'])
    for pair, base in (('uh', 'u'), ('uw', 'u'), ('dh', 'd'), ('dw', 'd')):
        v.setdefault(pair, v[base])
    v['n'] = batch
    hp, wp = v['h'] + v['pt'] + v['pb'], v['w'] + v['pl'] + v['pr']
    v['hp'] = hp
    v['p_out'] = (hp - (v['r'] - 1) * v['dh'] - 1) // v['uh'] + 1
    v['q_out'] = (wp - (v['s'] - 1) * v['dw'] - 1) // v['uw'] + 1
    return v


def fall_off(v, v0):
    return v / (v + v0)


def predict(algo, d, threads, m):
    n, c, k, r, s, g = d['n'], d['c'], d['k'], d['r'], d['s'], d['g']
    p, q = d['p_out'], d['q_out']
    cg, kg = c / g, k / g
    macs = n * p * q * k * r * s * cg
    if algo == 'mec':
        rate = m['gemm_rate'] * fall_off(kg, m['gemm_n0']) * fall_off(r * s * cg, m['gemm_k0'])
        t = macs / rate + n * q * d['hp'] * s * c * (m['lowering'] + m['lowering_per_column'] / kg)
    elif algo == 'im2col':
        rate = m['blas_rate'] * fall_off(kg, m['gemm_n0']) * fall_off(r * s * cg, m['gemm_k0'])
        t = macs / rate + n * p * q * r * s * c * m['im2col_column']
    elif algo == 'direct' and c == g and k == g:  # the depthwise path
        t = macs / m['depthwise_rate'] + n * p * q * k * m['depthwise_output']
    elif algo == 'direct':
        rate = m['direct_rate'] * fall_off(kg, m['direct_n0']) * fall_off(r * s * cg, m['direct_k0'])
        t = macs / rate + n * p * q * k * m['direct_output']
    elif algo in ('winograd_f2', 'winograd_f4'):
        tile = 4 if algo == 'winograd_f4' else 2
        points = (tile + 2) ** 2
        tiles = n * -(-p // tile) * -(-q // tile)
        rate = (m['gemm_rate'] * m['winograd_gemm'] * fall_off(tiles, m['winograd_m0']) *
                fall_off(kg, m['gemm_n0']) * fall_off(cg, m['gemm_k0']))
        t = g * points * tiles * kg * cg / rate + tiles * points * (c + k) * m['winograd_transform_f%d' % tile]
        return t / threads ** m['winograd_parallel']
    elif algo == 'fft':
        t = macs / m['fft_rate'] + (n * d['h'] * d['w'] * c + n * p * q * k) * m['fft_io']
    else:
        return math.inf
    return t / threads ** m['parallel']


def load(paths):
    best = {}
    for path in paths:
        for rec in json.load(open(path)):
            if rec.get('status', 'ok') != 'ok' or rec.get('min_ms') is None:
                continue
            algo = 'mec' if rec['algo'] in ('mec', 'mec_a', 'mec_b') else rec['algo']
            if algo == 'auto' or algo == 'winograd':
                continue
            d = shape_of(rec['shape'], rec['batch'])
            if algo == 'direct' and d['c'] == d['g'] and d['k'] == d['g'] and \
                    'depthwise' not in rec.get('variant', ''):
                continue  # the old direct on a depthwise layer (FIXED above)
            key = (rec['layer'], rec['shape'], rec['batch'], rec['threads'], algo)
            if key not in best or rec['min_ms'] < best[key]:
                best[key] = rec['min_ms']
    layers = {}
    for (layer, shape, batch, threads, algo), ms in best.items():
        layers.setdefault((layer, shape, batch, threads), {})[algo] = ms * 1e-3
    return layers


def picks(layers, m):
    ratios = []
    for (layer, shape, batch, threads), times in layers.items():
        d = shape_of(shape, batch)
        pick = min(times, key=lambda a: predict(a, d, threads, m))
        ratios.append((times[pick] / min(times.values()), layer, batch, threads, pick))
    return ratios


def loss(layers, m):
    err = 0.0
    for (layer, shape, batch, threads), times in layers.items():
        d = shape_of(shape, batch)
        for algo, t in times.items():
            err += math.log(predict(algo, d, threads, m) / t) ** 2
    return err + 20.0 * sum(math.log(r[0]) for r in picks(layers, m))


def main(paths):
    layers = load(paths)
    m, current = dict(START), None
    current = loss(layers, m)
    for _ in range(10):
        for key in list(m):
            if key in FIXED:
                continue
            for factor in (0.5, 0.7, 0.85, 1.18, 1.4, 2.0):
                trial = dict(m)
                trial[key] *= factor
                if key in EXPONENTS and trial[key] > 1:
                    continue
                value = loss(layers, trial)
                if value < current:
                    current, m = value, trial
    print('constexpr CpuCostModel kModel = {')
    for key, value in m.items():
        print('    /*%s=*/%.4g,' % (key, value))
    print('};')
    for algo in sorted({a for t in layers.values() for a in t}):
        errs = [predict(algo, shape_of(s, b), th, m) / t[algo]
                for (l, s, b, th), t in layers.items() if algo in t]
        print('%-12s predicted/measured: geomean %.2f, range %.2f-%.2f' % (
            algo, math.exp(sum(map(math.log, errs)) / len(errs)), min(errs), max(errs)))
    ratios = picks(layers, m)
    print('picks over the fastest: geomean %.3f, worst %.2f, %d layer runs' % (
        math.exp(sum(math.log(r[0]) for r in ratios) / len(ratios)), max(ratios)[0], len(ratios)))
    for r in sorted(ratios, reverse=True):
        if r[0] > 1.05:
            print('  %.2f %s batch %d threads %d (picked %s)' % r)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
