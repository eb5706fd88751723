#!/usr/bin/env python3
"""Turns a .cu file into C++ for tools/cudasim: each kernel launch
    name<template args><<<grid, block, smem, stream>>>(args);
becomes
    ::cudasim::launch(grid, block, [&] { name<template args>(args); });
Everything else is left alone (cuda_runtime.h from tools/cudasim supplies the rest)."""
import re
import sys

src = open(sys.argv[1]).read()
launch = re.compile(r'([A-Za-z_][\w:]*(?:<[^<>;]*>)?)\s*<<<(.*?)>>>\s*\((.*?)\);', re.S)


def rep(m):
    name, cfg, args = m.group(1), m.group(2), m.group(3)
    parts, depth, cur = [], 0, ''
    for ch in cfg:  # split the launch configuration at top-level commas
        if ch in '([{<':
            depth += 1
        elif ch in ')]}>':
            depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur.strip())
            cur = ''
        else:
            cur += ch
    parts.append(cur.strip())
    return f'::cudasim::launch({parts[0]}, {parts[1]}, [&] {{ {name}({args}); }});'


out, n = launch.subn(rep, src)
open(sys.argv[2], 'w').write(f'#line 1 "{sys.argv[1]}"\n' + out if False else out)
print(f'{sys.argv[1]}: {n} launches', file=sys.stderr)
