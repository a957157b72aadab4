#!/usr/bin/env python3
"""The wall time of a build on N idle cores, from CPU seconds logged on a loaded machine
(bench/results/BUILD_TIME.md): simulates ninja 1.11 -jN on BUILD_DIR/build.ninja, which starts
the edges that are ready in the order build.ninja lists them (no critical-path priority before
ninja 1.12). TIMELOG lines: "user sys wall OUTPUT" per compile (OUTPUT as build.ninja names it);
links and archives take --link seconds, compiles missing from the log --default.
usage: ninja_schedule.py BUILD_DIR TIMELOG [--scale S] [--jobs N] TARGET..."""
import sys, re, heapq, argparse, os
ap = argparse.ArgumentParser()
ap.add_argument('build'); ap.add_argument('timelog')
ap.add_argument('--scale', type=float, default=1.0); ap.add_argument('--jobs', type=int, default=2)
ap.add_argument('--link', type=float, default=1.0); ap.add_argument('--default', type=float, default=3.0)
ap.add_argument('targets', nargs='+')
a = ap.parse_args()
dur = {}
for line in open(a.timelog, errors='replace'):
    f = line.split()
    if len(f) >= 4 and re.match(r'^[0-9.]+$', f[0]) and re.match(r'^[0-9.]+$', f[1]):
        dur[f[3]] = (float(f[0]) + float(f[1])) * a.scale
text = open(os.path.join(a.build, 'build.ninja')).read().replace('$\n', ' ')
edges = []; producer = {}
for line in text.split('\n'):
    m = re.match(r'^build (.*?): (\S+)(.*)$', line)
    if not m: continue
    outs = m.group(1).split(); rule = m.group(2); rest = m.group(3)
    rest = rest.split('||')[0].replace('|', ' ')
    ins = rest.split()
    eid = len(edges); edges.append((outs, rule, ins))
    for o in outs: producer[o] = eid
need = set(); stack = [producer[t] for t in a.targets]
while stack:
    e = stack.pop()
    if e in need: continue
    need.add(e)
    for i in edges[e][2]:
        if i in producer: stack.append(producer[i])
deps = {e: {producer[i] for i in edges[e][2] if i in producer and producer[i] in need} for e in need}
def d(e):
    outs, rule, _ = edges[e]
    if rule == 'phony' or 'cmake' in outs[0] or 'verify_globs' in outs[0]: return 0.0
    if 'COMPILER' in rule:
        k = outs[0]
        if k in dur: return dur[k]
        print('no time for', outs[0], file=sys.stderr); return a.default
    return a.link
t = 0.0; running = []; done = set(); started = set(); busy = 0.0; crit = {}
while len(done) < len(need):
    ready = sorted(e for e in need if e not in started and deps[e] <= done)
    while ready and len(running) < a.jobs:
        e = ready.pop(0); started.add(e); x = d(e); busy += x
        heapq.heappush(running, (t + x, e))
        if x > 0.5: print(f'{t:7.1f} start {x:5.1f} {edges[e][0][0]}')
    if not running: break
    t, e = heapq.heappop(running); done.add(e)
    # zero-duration edges finish instantly
print(f'makespan {t:.1f} s, busy {busy:.1f} CPU s, ideal {busy/a.jobs:.1f} s')
