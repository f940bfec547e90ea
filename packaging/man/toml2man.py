#!/usr/bin/env python3
"""primusd.toml(5) from config/primusd.toml, the reference config: every key with its default and
comment, so the man page cannot drift from the file. Usage: toml2man.py TEMPLATE CONFIG OUT.
TEMPLATE is roff with a line '@KEYS@' where the per-section key lists go."""
import re
import sys

SECTION = re.compile(r'^\[([a-z_]+)\]\s*(?:#\s?(.*))?$')


def roff(text):
    """Escapes text for roff: backslashes, leading dots/quotes, hyphens as minus signs."""
    text = text.replace('\\', '\\e').replace('-', '\\-')
    if text.startswith(('.', "'")):
        text = '\\&' + text
    return text


def split_value_comment(rest):
    """'"a # b"   # comment' -> ('"a # b"', 'comment'): a # inside a string is not a comment."""
    in_str = False
    for i, c in enumerate(rest):
        if c == '"':
            in_str = not in_str
        elif c == '#' and not in_str:
            return rest[:i].strip(), rest[i + 1:].strip()
    return rest.strip(), ''


def render(config_lines):
    out = []
    devices_block = []
    in_devices_comment = False
    for raw in config_lines:
        line = raw.rstrip('\n')
        m = SECTION.match(line)
        if m:
            in_devices_comment = False
            out.append('.SS [%s]' % m.group(1))
            if m.group(2):
                out.append(roff(m.group(2)[0].upper() + m.group(2)[1:]) + '.')
            continue
        if line.startswith('[[devices]]'):
            break  # the example device after the reference block
        if line.startswith('# One [[devices]] table'):
            in_devices_comment = True
        if in_devices_comment and line.startswith('#'):
            devices_block.append(line[2:] if line.startswith('# ') else line[1:])
            continue
        if not out or line.startswith('#') or not line.strip():
            continue
        km = re.match(r'^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$', line)
        if not km:
            continue
        value, comment = split_value_comment(km.group(2))
        out.append('.TP')
        # Inline fonts, not .B: macro arguments would eat the quotes of string values.
        out.append('\\fB%s\\fR = %s' % (km.group(1), roff(value)))
        out.append(roff(comment) if comment else '\\&')
    out.append('.SS [[devices]]')
    out.append('.nf')
    out.extend(roff(l) for l in devices_block)
    out.append('.fi')
    return out


def main():
    template, config, dest = sys.argv[1:4]
    with open(config, encoding='utf-8') as f:
        keys = render(f.readlines())
    with open(template, encoding='utf-8') as f:
        page = f.read()
    if '@KEYS@' not in page:
        sys.exit('%s: no @KEYS@ line' % template)
    with open(dest, 'w', encoding='utf-8') as f:
        f.write(page.replace('@KEYS@', '\n'.join(keys)))


if __name__ == '__main__':
    main()
