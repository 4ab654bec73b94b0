#!/usr/bin/env python3
"""Checks every #include under src/ against the rules of src/DESIGN.md.

src/DESIGN.md has a heading per folder (`## engine/core`, `## report`, ...) and,
under it, a line `May include: engine/core, engine/backend` naming the folders
whose headers that folder's files may include (a folder may always include its
own files; an entry `engine/*` stands for every engine folder; `nothing` for none).
A line `Generated headers: dn-config.h` names the headers the build writes.

The rules (each failure names the file and line, and what would fix it):
  * an include points down: to the folder itself or one its `May include` names,
    and those lists have no cycle;
  * a `*-private.h` is included only from its own folder;
  * every folder with sources has a heading in DESIGN.md;
  * a header name is unique under src/ (includes name headers by file name);
  * an engine header is named after the .c (or .cu) beside it that implements
    it, unless it is a `*-private.h` or DESIGN.md lists it under
    `Interface headers:` (a table of function pointers with no code of its own);
  * engine files include no cairo, GTK, GDK, Pango or libadwaita header, and
    print nothing (printf, fprintf, puts, g_print, g_printerr, ...): the engine
    reports through GError and the observer;
  * report files include no GTK, GDK or libadwaita header.

Usage: check-layering.py SRC_DIR        (exit 1 and one line per failure)
       check-layering.py --self-test    (runs the checker on made-up trees)
"""

import os
import re
import sys
import tempfile

SOURCE_EXTS = ('.c', '.h', '.cu', '.cuh')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
HEADING_RE = re.compile(r'^##\s+`?([A-Za-z0-9_./-]+?)/?`?\s*$')
MAY_RE = re.compile(r'^May include:\s*(.*)$')
GENERATED_RE = re.compile(r'^Generated headers:\s*(.*)$')
INTERFACE_RE = re.compile(r'^Interface headers:\s*(.*)$')
PRINT_RE = re.compile(
    r'\b(printf|vprintf|fprintf|vfprintf|puts|fputs|putchar|perror|g_print|g_printerr)\s*\(')
ENGINE_FORBIDDEN = ('cairo', 'gtk/', 'gtk.h', 'gdk/', 'gdk-pixbuf', 'pango', 'adwaita')
REPORT_FORBIDDEN = ('gtk/', 'gtk.h', 'gdk/', 'adwaita')

# Known exceptions to "the engine prints nothing", as (path under src/, line text).
# Each one needs a reason here; none is needed today.
PRINT_EXCEPTIONS = ()


def names(text):
    """`a`, `b` or a, b -> ['a', 'b']; 'nothing' -> []."""
    out = []
    for part in text.split(','):
        part = part.strip().strip('.').strip('`').strip().rstrip('/')
        if part and part.lower() not in ('nothing', 'nothing else', 'none'):
            out.append(part)
    return out


def read_design(path):
    """{folder: [allowed folders]}, [generated headers], [interface headers], [problems]."""
    rules, generated, interfaces, problems = {}, [], [], []
    current = None
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip('\n')
            m = HEADING_RE.match(line)
            if m:
                current = m.group(1).rstrip('/')
                if current in rules:
                    problems.append(f'{path}:{n}: a second heading for {current}')
                rules[current] = None
                continue
            m = GENERATED_RE.match(line)
            if m:
                generated += names(m.group(1))
                continue
            m = INTERFACE_RE.match(line)
            if m:
                interfaces += names(m.group(1))
                continue
            m = MAY_RE.match(line)
            if m and current is not None:
                rules[current] = names(m.group(1))
    for folder, allowed in rules.items():
        if allowed is None:
            problems.append(f'{path}: ## {folder} has no "May include:" line; add one '
                            '(or "May include: nothing")')
            rules[folder] = []
    return rules, generated, interfaces, problems


def allows(allowed, target):
    """`engine/core` names that folder; `engine/*` every folder under engine."""
    return any(target == a or (a.endswith('/*') and target.startswith(a[:-1])) for a in allowed)


def find_cycle(rules):
    """A list of folders forming a cycle of May include, or None."""
    def edges(folder):
        return [t for t in rules if t != folder and allows(rules[folder], t)]
    state = {}

    def visit(folder, stack):
        state[folder] = 1
        stack.append(folder)
        for t in edges(folder):
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state:
                cycle = visit(t, stack)
                if cycle:
                    return cycle
        stack.pop()
        state[folder] = 2
        return None

    for folder in sorted(rules):
        if folder not in state:
            cycle = visit(folder, [])
            if cycle:
                return cycle
    return None


def strip_code(text):
    """The text with comments and string/char literals blanked, lines kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + ' ' * (j - i - 2) + c if j - i >= 2 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def folder_of(rel_dir, rules):
    """The longest folder of DESIGN.md that holds rel_dir, or None."""
    best = None
    for folder in rules:
        if rel_dir == folder or rel_dir.startswith(folder + '/'):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def check(src):
    """Every failure under src, as 'path:line: message' strings."""
    src = os.path.normpath(src)
    design = os.path.join(src, 'DESIGN.md')
    shown = os.path.relpath(src)
    if not os.path.isfile(design):
        return [f'{design}: missing; it is the page that says what each folder may include']
    rules, generated, interfaces, problems = read_design(design)
    cycle = find_cycle(rules)
    if cycle:
        problems.append(f'{design}: "May include" goes round in a circle: '
                        + ' -> '.join(cycle) + '; includes must point down only')

    files = []
    for root, dirs, fnames in os.walk(src):
        dirs.sort()
        for name in sorted(fnames):
            if name.endswith(SOURCE_EXTS):
                files.append(os.path.relpath(os.path.join(root, name), src))
    by_name = {}
    for rel in files:
        by_name.setdefault(os.path.basename(rel), []).append(rel)
    for name, where in sorted(by_name.items()):
        if len(where) > 1 and name.endswith(('.h', '.cuh')):
            problems.append(f'{shown}/{where[1]}: the header name {name} is also '
                            f'{shown}/{where[0]}; includes name headers by file name, '
                            'so rename one')

    undescribed = set()
    for rel in files:
        rel_dir = os.path.dirname(rel)
        here = folder_of(rel_dir, rules)
        path = f'{shown}/{rel}'
        if here is None:
            if rel_dir not in undescribed:
                undescribed.add(rel_dir)
                problems.append(f'{path}: its folder {rel_dir or "."} has no heading in '
                                f'{shown}/DESIGN.md; add one saying what it may include')
            continue
        with open(os.path.join(src, rel), encoding='utf-8', errors='replace') as f:
            text = f.read()
        engine = here == 'engine' or here.startswith('engine/')
        base, ext = os.path.splitext(rel)
        if (engine and ext == '.h' and not base.endswith('-private')
                and os.path.basename(rel) not in interfaces
                and not any(os.path.isfile(os.path.join(src, base + e)) for e in ('.c', '.cu'))):
            problems.append(f'{path}: no {os.path.basename(base)}.c beside it; a header is '
                            'named after the file that implements it (a module of several '
                            'files shares one -private.h)')
        for n, line in enumerate(text.split('\n'), 1):
            m = INCLUDE_RE.match(line)
            if not m:
                continue
            quote, inc = m.group(1), m.group(2)
            if quote == '<':
                forbidden = ENGINE_FORBIDDEN if engine else (
                    REPORT_FORBIDDEN if here == 'report' else ())
                if any(inc.startswith(p) for p in forbidden):
                    problems.append(f'{path}:{n}: includes <{inc}>, but {here} may not use '
                                    'a toolkit (src/DESIGN.md); draw in report/ or app/')
                continue
            target_rel = os.path.normpath(os.path.join(rel_dir, inc))
            if not os.path.isfile(os.path.join(src, target_rel)):
                found = by_name.get(os.path.basename(inc), [])
                if '/' in inc or not found:
                    if os.path.basename(inc) in generated:
                        continue
                    problems.append(f'{path}:{n}: includes "{inc}", which is no file under '
                                    f'{shown}/ nor a generated header of DESIGN.md')
                    continue
                target_rel = found[0]
            there = folder_of(os.path.dirname(target_rel), rules)
            if there is None or there == here:
                continue
            if os.path.basename(target_rel).endswith('-private.h'):
                problems.append(f'{path}:{n}: includes "{inc}", the private header of '
                                f'{there}; only files in {there} may use it. Use a public '
                                'header, or move the declaration to one')
            elif not allows(rules[here], there):
                may = ('only ' + ', '.join(rules[here]) if rules[here]
                       else 'no other folder')
                problems.append(f'{path}:{n}: includes "{inc}" of {there}, but {here} may '
                                f'include {may} (src/DESIGN.md). Includes point down: '
                                'move the declaration to a lower folder')
        if engine:
            code = strip_code(text)
            lines = text.split('\n')
            for n, line in enumerate(code.split('\n'), 1):
                m = PRINT_RE.search(line)
                if m and (rel, lines[n - 1].strip()) not in PRINT_EXCEPTIONS:
                    problems.append(f'{path}:{n}: calls {m.group(1)}(); the engine prints '
                                    'nothing: return a GError or log through the observer '
                                    '(dn_emit_log)')
    return problems


SELF_TEST_DESIGN = """# made up
Generated headers: `dn-config.h`
Interface headers: `dn-i.h`

## engine/core
May include: nothing

## engine/layers
May include: engine/core

## report
May include: engine/*

## app
May include: engine/*, report
"""


def self_test():
    """The checker must find each kind of violation, with its file and line."""
    def tree(files, design=SELF_TEST_DESIGN):
        d = tempfile.mkdtemp(prefix='layering-')
        src = os.path.join(d, 'src')
        files = dict(files)
        files['DESIGN.md'] = design
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), 'w', encoding='utf-8') as f:
                f.write(text)
        return src

    good = {
        'engine/core/dn-a.h': '#pragma once\n',
        'engine/core/dn-a.c': '#include "dn-a.h"\n#include "dn-config.h"\n'
                              '/* printf ("a comment") */\nconst char *s = "puts (x)";\n',
        'engine/layers/dn-l-private.h': '#include "dn-a.h"\n',
        'engine/layers/dn-l.h': '#include "dn-a.h"\n',
        'engine/layers/dn-l.c': '#include "dn-l.h"\n#include "dn-l-private.h"\n',
        'engine/layers/dn-i.h': '#pragma once\n',
        'report/dn-r.c': '#include "dn-l.h"\n#include <cairo.h>\n',
        'app/dn-w.c': '#include "dn-l.h"\n#include <gtk/gtk.h>\n',
    }
    failures = []

    def expect(name, files, wanted, design=SELF_TEST_DESIGN):
        got = check(tree({**good, **files}, design))
        for w in wanted:
            if not any(w in p for p in got):
                failures.append(f'{name}: expected a failure containing {w!r}, got {got}')
        if not wanted and got:
            failures.append(f'{name}: expected no failure, got {got}')

    expect('clean tree', {}, [])
    expect('upward include', {'engine/core/dn-b.c': '#include "dn-a.h"\n\n#include "dn-l.h"\n'},
           ['src/engine/core/dn-b.c:3: includes "dn-l.h" of engine/layers, but engine/core '
            'may include no other folder'])
    expect('private header outside its folder',
           {'report/dn-s.c': '#include "dn-l-private.h"\n'},
           ['src/report/dn-s.c:1: includes "dn-l-private.h", the private header of '
            'engine/layers'])
    expect('engine includes GTK', {'engine/layers/dn-g.c': '#include "dn-l.h"\n'
                                   '#include <gtk/gtk.h>\n'},
           ['src/engine/layers/dn-g.c:2: includes <gtk/gtk.h>'])
    expect('engine includes cairo', {'engine/core/dn-c.c': '#include <cairo.h>\n'},
           ['src/engine/core/dn-c.c:1: includes <cairo.h>'])
    expect('report includes GTK', {'report/dn-t.c': '#include <gtk/gtk.h>\n'},
           ['src/report/dn-t.c:1: includes <gtk/gtk.h>'])
    expect('engine prints', {'engine/core/dn-p.c': 'void f (void)\n{\n    g_printerr ("x");\n'
                             '    fprintf (stderr, "y");\n}\n'},
           ['src/engine/core/dn-p.c:3: calls g_printerr()',
            'src/engine/core/dn-p.c:4: calls fprintf()'])
    expect('unknown header', {'engine/core/dn-u.c': '#include "dn-nowhere.h"\n'},
           ['src/engine/core/dn-u.c:1: includes "dn-nowhere.h", which is no file'])
    expect('folder without a heading', {'engine/misc/dn-m.c': '#include "dn-a.h"\n'},
           ['src/engine/misc/dn-m.c: its folder engine/misc has no heading'])
    expect('two headers of one name', {'app/dn-a.h': '#pragma once\n'},
           ['the header name dn-a.h is also'])
    expect('header without its .c', {'engine/core/dn-h.h': '#pragma once\n'},
           ['src/engine/core/dn-h.h: no dn-h.c beside it'])
    expect('cycle', {}, ['goes round in a circle'],
           SELF_TEST_DESIGN.replace('## engine/core\nMay include: nothing',
                                    '## engine/core\nMay include: engine/layers'))
    for f in failures:
        print(f)
    print('self-test: %s' % ('FAILED' if failures else 'ok'))
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == '--self-test':
        return self_test()
    if len(argv) != 2:
        print(__doc__.strip().split('\n\n')[-1], file=sys.stderr)
        return 2
    problems = check(argv[1])
    for p in problems:
        print(p)
    print(f'layering: {len(problems)} problem(s) in {argv[1]}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
