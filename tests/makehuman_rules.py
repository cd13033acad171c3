"""Our own strict checker of how MakeHuman 1.x reads an .mhm (never MakeHuman's code: its rules).

Rules read from `apps/human.py` (`Human.load`) and `apps/compat.py` of makehuman 1.3.2 and from
MAKEHUMAN_FACTS.md: lines are split on white space; a file whose `version` is v1.1.x goes through
the 1.1 compatibility loader, which reads `lineData[0]` of every line (a blank line raises) and turns
`tags` into `name`; `name`/`uuid`/`tags` without a value, and any keyword no loader or plugin
handles, log "Unknown property in MHM file"; `modifier NAME VALUE` needs a float VALUE and a modifier
MakeHuman has ("Unknown modifier specified in MHM file"); `camera` needs six floats, `subdivide` a
value; proxy lines (eyes, eyebrows, eyelashes, hair, teeth, tongue, proxy, clothes) need a name and a
uuid ("Loading proxies from filename is no longer supported"); `material` 3 or 4 words;
`skinMaterial` a path.
"""

from __future__ import annotations

import re

#: Keywords MakeHuman 1.3's plugins register load handlers for (plus the ones `Human.load` reads).
_PROXY_KEYWORDS = {"eyes", "eyebrows", "eyelashes", "hair", "teeth", "tongue", "proxy", "clothes"}
_HANDLED = _PROXY_KEYWORDS | {"material", "skinMaterial", "pose", "custom", "background", "clothesHideFaces",
                              "expression", "skeleton", "status"}


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def makehuman_warnings(text: str, known_modifiers: set[str]) -> list[str]:
    """Every warning or error MakeHuman 1.3 would log (or raise) loading `text`; [] for a clean file."""
    problems = []
    lines = text.splitlines()
    versions = [line.split()[1] for line in lines if line.split()[:1] == ["version"] and len(line.split()) > 1]
    if not versions:
        return ["no version line: MakeHuman cannot choose a loader"]
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", versions[0].lower())
    if match is None or match.group(1) != "1":
        return [f"version {versions[0]!r}: no MakeHuman 1.x loader accepts it"]
    compat_1_1 = match.group(2) == "1"
    for number, line in enumerate(lines, 1):
        words = line.strip().split()
        if not words:
            if compat_1_1:
                problems.append(f"line {number}: blank line (the 1.1 compatibility loader raises IndexError)")
            continue
        keyword = words[0]
        if compat_1_1 and keyword == "tags":
            keyword = "name"  # MHM11Loader: a v1.1 file's tags become the character's name
            if len(words) > 1:
                problems.append(f"line {number}: tags line renames the character to {' '.join(words[1:])!r}")
        if keyword.startswith("#") or keyword == "version":
            continue
        if keyword in ("uuid", "name", "tags"):
            if len(words) < 2:
                problems.append(f"line {number}: Unknown property in MHM file: {words}")
        elif keyword == "modifier":
            if len(words) < 3 or not _is_float(words[2]):
                problems.append(f"line {number}: Exception while loading MHM property ({line!r})")
            elif words[1] not in known_modifiers:
                problems.append(f"line {number}: Unknown modifier specified in MHM file: {words[1]}")
        elif keyword == "camera":
            if len(words) < 7 or not all(_is_float(w) for w in words[1:7]):
                problems.append(f"line {number}: Exception while loading MHM property ({line!r})")
        elif keyword == "subdivide":
            if len(words) < 2:
                problems.append(f"line {number}: Exception while loading MHM property ({line!r})")
        elif keyword in _PROXY_KEYWORDS:
            if len(words) < 3:
                problems.append(f"line {number}: proxy by file name is no longer supported ({line!r})")
        elif keyword == "material":
            if len(words) not in (3, 4):
                problems.append(f"line {number}: malformed material line ({line!r})")
        elif keyword == "skinMaterial":
            if len(words) < 2:
                problems.append(f"line {number}: Exception while loading MHM property ({line!r})")
        elif keyword not in _HANDLED:
            problems.append(f"line {number}: Unknown property in MHM file: {words}")
    return problems
