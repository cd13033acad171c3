"""Recipes: MakeHuman modifiers + discrete choices, read and written as MakeHuman 1.1 .mhm or JSON.

A `Recipe` keeps every modifier and property line it was given, in order: modifiers and lines
outside f2p's schema (ears, torso, clothes, hair, ...) are written back untouched and reported by
`Recipe.unapplied()`. Modifier order matters (MakeHuman recomputes macro weights line by line),
so it is preserved on read and on write. Values are written so they read back exactly.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid as uuid_module
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from f2p_engine.errors import InputError
from f2p_engine.files import atomic_output, input_problem
from f2p_engine.headmodel import schema
from f2p_engine.headmodel.macro import APPLIED_MACROS, IGNORED_MACROS
from f2p_engine.headmodel.mesh import default_modifiers

MHM_VERSION = "v1.1.1"
JSON_FORMAT = "f2p-recipe-1"
_SKIN_PATH = "skins/{0}/{0}.mhmat"
_EYE_MATERIAL = "eyes/materials/{0}.mhmat"
_PROPERTY_ORDER = ("camera", "eyes", "eyebrows", "eyelashes", "teeth", "tongue", "hair", "proxy", "clothes",
                   "clothesHideFaces", "skinMaterial", "material", "subdivide")
_KEPT_QUIETLY = {"camera", "subdivide", "eyes", "eyebrows", "eyelashes", "hair", "skinMaterial", "clothesHideFaces",
                 "skeleton"}
#: Largest recipe file read. MakeHuman recipes are a few KB; 1 MiB leaves room for hand-made ones
#: while bounding the time and memory a hostile file can cost (a 200 MB .mhm took 33 s and 1.4 GB).
MAX_RECIPE_BYTES = 1 << 20
#: Problems listed one by one per file; the rest are counted in one summary line.
MAX_WARNINGS = 20
#: Characters that end a line for str.splitlines() (which reads .mhm files) or end a C string.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\0")
#: .mhm keywords with their own meaning: a property line may not pose as one of them.
_RESERVED_KEYWORDS = frozenset({"version", "uuid", "name", "tags", "modifier"})


def format_value(value: float) -> str:
    """MakeHuman's `%f`: six decimals, for every recipe f2p writes (single, fused and batch alike)."""
    return f"{value:.6f}"


def rounded(value: float) -> float:
    """A value as an .mhm carries it (`format_value`), so JSON and .mhm of one recipe agree."""
    return float(format_value(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """A MakeHuman character as f2p sees it.

    `modifiers`: MakeHuman modifier name -> value, in file order (read-only mapping).
    `properties`: every other .mhm line as (keyword, rest of line), in file order.
    `looks`: (group, option) of the discrete groups MakeHuman has no .mhm line for (hair colour,
    beard); written to f2p's JSON only.
    """

    name: str = ""
    uuid: str = ""
    tags: tuple[str, ...] = ()
    modifiers: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(default_modifiers()))
    properties: tuple[tuple[str, str], ...] = ()
    looks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.modifiers, MappingProxyType):
            object.__setattr__(self, "modifiers", MappingProxyType(dict(self.modifiers)))

    # -- continuous values -------------------------------------------------------------------
    def value(self, name: str) -> float:
        """A schema parameter's value (its default when the recipe does not set it)."""
        param = schema.continuous_by_name()[name]
        return float(self.modifiers.get(name, param.default))

    def with_values(self, values: Mapping[str, float]) -> Recipe:
        """A copy with these parameters set (clamped to their ranges); new names go at the end."""
        modifiers = dict(self.modifiers)
        for name, value in values.items():
            param = schema.continuous_by_name().get(name)
            modifiers[name] = param.clamp(float(value)) if param else float(value)
        return replace(self, modifiers=modifiers)

    # -- discrete choices ----------------------------------------------------------------------
    def choice(self, group: str) -> str:
        """The option chosen in a discrete group, or the group's first option if none is set."""
        options = schema.discrete_by_name()[group].options
        found = dict(self.looks).get(group)
        keyword = _PROXY_KEYWORDS.get(group)
        for key, rest in self.properties:
            words = rest.split()
            if group == "skin" and key == "skinMaterial" and words:
                found = Path(words[0]).stem
            elif group == "eye_colour" and key == "material" and len(words) >= 3 and words[0] == "HighPolyEyes":
                found = Path(words[2]).stem
            elif key == keyword and words:
                found = words[0].lower()  # MakeHuman writes `Braid01`, `Eyelashes01`
        return found if found in options else options[0]

    def sets(self, group: str) -> bool:
        """Whether the recipe chooses an option of `group` itself (a line or a look), rather than leaving
        it to the group's default."""
        keyword = {"skin": "skinMaterial", "eye_colour": "material", **_PROXY_KEYWORDS}.get(group)
        return group in dict(self.looks) or any(k == keyword for k, _ in self.properties)

    def with_choice(self, group: str, option: str) -> Recipe:
        spec = schema.discrete_by_name()[group]
        if option not in spec.options:
            raise InputError(f"{option!r} is not a {group} option (one of {', '.join(spec.options)})")
        if not spec.in_mhm:
            return replace(self, looks=(*((g, o) for g, o in self.looks if g != group), (group, option)))
        if group == "skin":
            return self._with_property("skinMaterial", _SKIN_PATH.format(option))
        if group == "eye_colour":
            eyes = self._with_property("eyes", " ".join(schema.EYES_PROXY), keep_existing=True)
            rest = f"{' '.join(schema.EYES_PROXY)} {_EYE_MATERIAL.format(option)}"
            return eyes._with_property("material", rest, match=lambda r: r.startswith(schema.EYES_PROXY[0]))
        if group == "hair" and option == schema.NO_HAIR:  # MakeHuman writes no hair line for a bald head
            return replace(self, properties=tuple((k, r) for k, r in self.properties if k != "hair"))
        names = {"eyebrows": {k: (k, v) for k, v in schema.EYEBROWS.items()}, "hair": schema.HAIR,
                 "eyelashes": schema.EYELASHES}[group]
        return self._with_property(_PROXY_KEYWORDS[group], " ".join(names[option]))

    def _with_property(self, keyword: str, rest: str, *, keep_existing: bool = False, match=None) -> Recipe:
        """Replace the first matching property line, or insert one where MakeHuman would write it."""
        props = list(self.properties)
        for i, (k, r) in enumerate(props):
            if k == keyword and (match is None or match(r)):
                if not keep_existing:
                    props[i] = (keyword, rest)
                return replace(self, properties=tuple(props))
        rank = _property_rank(keyword)
        at = next((i for i, (k, _) in enumerate(props) if _property_rank(k) > rank), len(props))
        props.insert(at, (keyword, rest))
        return replace(self, properties=tuple(props))

    # -- what f2p does not apply ---------------------------------------------------------------
    def unapplied(self) -> list[str]:
        """Human-readable list of what this recipe carries that f2p keeps but does not apply."""
        notes = []
        known = set(schema.face_modifiers()) | APPLIED_MACROS
        for name, value in self.modifiers.items():
            if name in IGNORED_MACROS and value != 0.5:
                notes.append(f"modifier {name} {format_value(value)} (kept, not applied)")
            elif name not in known and name not in IGNORED_MACROS and value != 0.0:
                notes.append(f"modifier {name} (outside f2p's schema: kept, not applied)")
        for keyword, rest in self.properties:
            if keyword == "material" and rest.startswith(schema.EYES_PROXY[0]):
                continue
            if keyword not in _KEPT_QUIETLY:
                notes.append(f"{keyword} {rest.split()[0] if rest else ''} (kept, not shown)".replace("  ", " "))
        return notes


#: .mhm keyword of each discrete group that is a MakeHuman proxy (`hair short02 <uuid>`).
_PROXY_KEYWORDS = {"eyebrows": "eyebrows", "hair": "hair", "eyelashes": "eyelashes"}


def _property_rank(keyword: str) -> int:
    """Position of a property keyword in the order MakeHuman writes .mhm lines."""
    return _PROPERTY_ORDER.index(keyword) if keyword in _PROPERTY_ORDER else len(_PROPERTY_ORDER)


# -- .mhm ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class ReadResult:
    """A recipe read from a file, with one line per problem found (malformed, clamped, ...)."""

    recipe: Recipe
    warnings: tuple[str, ...]


_VERSION = re.compile(r"^v(\d+)\.(\d+)")


def _read_text(path: Path) -> str:
    problem = input_problem(path)
    if problem is not None and not os.path.isdir(path):  # a FIFO would block the read below for ever
        raise InputError(f"{path}: {problem}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_RECIPE_BYTES + 1)  # never more, whatever the file claims to be
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not an .mhm file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > MAX_RECIPE_BYTES:
        raise InputError(f"{path}: too large for a recipe (over {MAX_RECIPE_BYTES >> 20} MB; MakeHuman's are a few KB)")
    if b"\0" in raw:  # before decoding: a picture or archive is "binary", not "not UTF-8"
        raise InputError(f"{path}: binary data, not an .mhm file")
    try:
        return raw.decode("utf-8-sig")  # Windows editors start UTF-8 with a byte order mark
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, not an .mhm file") from None


def parse_mhm(text: str, source: str = "<mhm>") -> ReadResult:
    """Parse .mhm text. Refuses text that is not an .mhm; reports and skips malformed lines."""
    if "\0" in text:
        raise InputError(f"{source}: binary data, not an .mhm file")
    warnings: list[str] = []
    version = None
    name, uid, tags = "", "", ()
    modifiers: dict[str, float] = {}
    properties: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        keyword, rest = words[0], " ".join(words[1:])
        where = f"{source}:{number}"
        if keyword == "version":
            version = rest
        elif keyword == "uuid":
            uid = rest
        elif keyword == "name":
            name = rest
        elif keyword == "tags":
            tags = tuple(t for t in rest.split(";") if t)
        elif keyword == "modifier":
            if len(words) != 3:
                warnings.append(f"{where}: malformed modifier line skipped: {line.strip()!r}")
                continue
            try:
                value = float(words[2])
            except ValueError:
                warnings.append(f"{where}: modifier {words[1]} has a non-numeric value {words[2]!r}; skipped")
                continue
            if not np.isfinite(value):
                warnings.append(f"{where}: modifier {words[1]} has a non-finite value; skipped")
                continue
            value = _in_range(words[1], value, where, warnings)
            if words[1] in modifiers:
                warnings.append(f"{where}: modifier {words[1]} repeated; the last value is kept")
                del modifiers[words[1]]
            modifiers[words[1]] = value
        elif not rest and keyword in {"skinMaterial", "eyes", "eyebrows", "eyelashes", "hair", "material", "camera"}:
            warnings.append(f"{where}: {keyword} line without a value skipped")
        else:
            properties.append((keyword, rest))
    if version is None:
        raise InputError(f"{source}: no 'version' line, not an .mhm file")
    match = _VERSION.match(version)
    if not match or match.group(1) != "1":
        raise InputError(f"{source}: unsupported .mhm version {version!r} (MakeHuman 1.x files only)")
    recipe = Recipe(name=name, uuid=uid, tags=tags, modifiers=modifiers, properties=tuple(properties))
    return ReadResult(recipe=recipe, warnings=summarised(warnings, source))


def _range_of(modifier: str) -> tuple[float, float]:
    """Range MakeHuman clamps a modifier to: [-1, 1] for two-sided ones, [0, 1] otherwise."""
    param = schema.continuous_by_name().get(modifier)
    if param is not None:
        return param.minimum, param.maximum
    return (-1.0, 1.0) if "|" in modifier else (0.0, 1.0)


def _in_range(modifier: str, value: float, where: str, warnings: list[str]) -> float:
    """`value` clamped to the modifier's range as MakeHuman does, with a warning if it had to be."""
    low, high = _range_of(modifier)
    if low <= value <= high:
        return value
    clamped = min(high, max(low, value))
    warnings.append(f"{where}: modifier {modifier} {value:.6g} out of [{low:g}, {high:g}]; "
                    f"clamped to {clamped:g}")
    return clamped


def summarised(warnings: Sequence[str], source: str) -> tuple[str, ...]:
    """The first MAX_WARNINGS messages, then one line counting the rest (a hostile file has thousands)."""
    if len(warnings) <= MAX_WARNINGS:
        return tuple(warnings)
    return (*warnings[:MAX_WARNINGS], f"{source}: {len(warnings) - MAX_WARNINGS} more like these not listed")


def _line_problem(text: str) -> str | None:
    """Why `text` cannot be one .mhm line value (None if it can)."""
    if any(character in _LINE_BREAKS for character in text):
        return "contains a line break or NUL"
    return None


def _keyword_problem(keyword: str) -> str | None:
    """Why `keyword` cannot start an .mhm property line (None if it can)."""
    if not keyword or keyword != "".join(keyword.split()):
        return "is empty or contains white space"
    if keyword in _RESERVED_KEYWORDS or keyword.startswith("#"):
        return "would read back as another kind of line"
    return _line_problem(keyword)


def recipe_problem(recipe: Recipe) -> str | None:
    """Why `recipe` cannot be written as an .mhm that reads back the same (None if it can): line
    breaks in a name, uuid, tag or property, property keywords that pose as other lines, ';' in a
    tag, white space in a modifier name, non-finite values."""
    for label, text in (("name", recipe.name), ("uuid", recipe.uuid)):
        problem = _line_problem(text)
        if problem:
            return f"{label} {text[:40]!r} {problem}"
    for tag in recipe.tags:
        problem = _line_problem(tag) or ("contains ';' (the tag separator)" if ";" in tag else None)
        if problem:
            return f"tag {tag[:40]!r} {problem}"
    for name, value in recipe.modifiers.items():
        if not name or name != "".join(name.split()):
            return f"modifier name {name[:40]!r} is empty or contains white space"
        if not math.isfinite(value):
            return f"modifier {name} has the non-finite value {value}"
    for keyword, rest in recipe.properties:
        problem = _keyword_problem(keyword)
        if problem:
            return f"property keyword {keyword[:40]!r} {problem}"
        problem = _line_problem(rest)
        if problem:
            return f"property {keyword} value {rest[:40]!r} {problem}"
    return None


def read_mhm(path: str | os.PathLike[str]) -> ReadResult:
    path = Path(path)
    return parse_mhm(_read_text(path), str(path))


def format_mhm(recipe: Recipe) -> str:
    """MakeHuman 1.1 .mhm text; modifiers in the recipe's order, other lines as they were.

    Refuses (InputError) a recipe whose text would read back differently (`recipe_problem`): a
    line break in a name must never become a line of its own."""
    problem = recipe_problem(recipe)
    if problem:
        raise InputError(f"recipe {recipe.name[:40]!r} cannot be written as .mhm: {problem}")
    uid = recipe.uuid or str(uuid_module.uuid4())
    name = recipe.name if recipe.name.strip() else "f2p"  # a blank name is an "Unknown property" to MakeHuman
    lines = ["# Written by f2p", f"version {MHM_VERSION}", f"uuid {uid}", f"name {name}"]
    if recipe.tags:  # an empty `tags` line is an "Unknown property" to MakeHuman 1.2 and 1.3
        lines.append(f"tags {';'.join(recipe.tags)}")
    lines += [f"{k} {r}".rstrip() for k, r in recipe.properties if k == "camera"]
    lines += [f"modifier {n} {format_value(v)}" for n, v in recipe.modifiers.items()]
    lines += [f"{k} {r}".rstrip() for k, r in recipe.properties if k != "camera"]
    return "\n".join(lines) + "\n"


def write_mhm(recipe: Recipe, path: str | os.PathLike[str]) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(format_mhm(recipe), encoding="utf-8")


# -- JSON ----------------------------------------------------------------------------------------
def recipe_to_dict(recipe: Recipe) -> dict:
    return {
        "format": JSON_FORMAT, "name": recipe.name, "uuid": recipe.uuid, "tags": list(recipe.tags),
        "modifiers": [[n, rounded(v)] for n, v in recipe.modifiers.items()],
        "choices": {g.name: recipe.choice(g.name) for g in schema.DISCRETE_GROUPS},
        "looks": [[g, o] for g, o in recipe.looks],
        "properties": [[k, r] for k, r in recipe.properties],
    }


def recipe_from_dict(data: object, source: str = "<json>") -> Recipe:
    """A recipe from f2p's JSON form, validated (InputError naming `source`); out-of-range values
    are clamped silently here, `read_recipe` reports them."""
    return _from_json(data, source).recipe


def _from_json(data: object, source: str) -> ReadResult:
    """Validate JSON recipe data at the edge: structure, types, finite values, single-line strings."""
    if not isinstance(data, Mapping) or data.get("format") != JSON_FORMAT:
        raise InputError(f"{source}: not an f2p recipe (expected format {JSON_FORMAT!r})")

    def bad(problem: str) -> InputError:
        return InputError(f"{source}: malformed f2p recipe ({problem})")

    warnings: list[str] = []
    modifiers: dict[str, float] = {}
    for item in _pairs(data.get("modifiers"), "modifiers", bad, required=True):
        name, value = item
        if not isinstance(name, str) or not name or name != "".join(name.split()):
            raise bad(f"modifier name {name!r} is not a word")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"modifier {name} has the value {str(value)[:40]!r}, not a number")
        try:
            number = float(value)
        except OverflowError:  # JSON integers are unbounded
            number = math.inf
        if not math.isfinite(number):
            raise bad(f"modifier {name} has the non-finite value {number}")
        modifiers.pop(name, None)  # repeated: the last one counts, at its place (as in .mhm)
        modifiers[name] = _in_range(name, number, source, warnings)
    properties = []
    for keyword, rest in _pairs(data.get("properties", []), "properties", bad):
        if not isinstance(keyword, str) or not isinstance(rest, str):
            raise bad(f"property {keyword!r} {rest!r} is not two strings")
        problem = _keyword_problem(keyword) or _line_problem(rest)
        if problem:
            raise bad(f"property {keyword[:40]!r} {problem}")
        properties.append((keyword, rest))
    texts = {}
    for label in ("name", "uuid"):
        text = data.get(label, "")
        if not isinstance(text, str) or _line_problem(text):
            raise bad(f"{label} must be one line of text")
        texts[label] = text
    tags = data.get("tags", [])
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and not _line_problem(t) and ";" not in t
                                             for t in tags):
        raise bad("tags must be a list of one-line strings without ';'")
    # "choices" (every group's option) is for readers; the recipe's own JSON-only choices are "looks".
    groups = schema.discrete_by_name()
    looks = []
    for group, option in _pairs(data.get("looks", []), "looks", bad):
        spec = groups.get(group) if isinstance(group, str) else None
        if spec is None or spec.in_mhm or option not in spec.options:
            warnings.append(f"{source}: look {str(group)[:40]!r} {str(option)[:40]!r} is not a JSON-only choice; "
                            "skipped")
            continue
        looks = [(g, o) for g, o in looks if g != group] + [(group, option)]
    recipe = Recipe(name=texts["name"], uuid=texts["uuid"], tags=tuple(t for t in tags if t), modifiers=modifiers,
                    properties=tuple(properties), looks=tuple(looks))
    return ReadResult(recipe=recipe, warnings=summarised(warnings, source))


def _pairs(items: object, label: str, bad: Callable[[str], InputError], *,
           required: bool = False) -> list[tuple[object, object]]:
    """`items` as a list of 2-element lists, or the InputError `bad` makes."""
    if items is None and not required:
        return []
    if not isinstance(items, list) or not all(isinstance(i, list | tuple) and len(i) == 2 for i in items):
        raise bad(f"{label} must be a list of [name, value] pairs")
    return [(i[0], i[1]) for i in items]


def write_json(recipe: Recipe, path: str | os.PathLike[str], extra: Mapping | None = None) -> None:
    payload = recipe_to_dict(recipe) | dict(extra or {})
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def read_recipe(path: str | os.PathLike[str]) -> ReadResult:
    """Read an .mhm or an f2p JSON recipe (chosen by content, not extension)."""
    path = Path(path)
    text = _read_text(path)
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
        except ValueError:  # an integer of more than 4300 digits
            raise InputError(f"{path}: malformed JSON (a number too long to read)") from None
        except RecursionError:  # json's parser recurses per bracket; a recipe is three levels deep
            raise InputError(f"{path}: JSON nested too deeply, not an f2p recipe") from None
        return _from_json(data, str(path))
    return parse_mhm(text, str(path))


# -- parameter vectors (the models' targets) -----------------------------------------------------
def continuous_vector(recipe: Recipe) -> np.ndarray:
    """Schema-ordered continuous values normalised to [0, 1], float32."""
    return np.asarray([p.normalise(recipe.value(p.name)) for p in schema.CONTINUOUS], dtype=np.float32)


def discrete_indices(recipe: Recipe) -> dict[str, int]:
    return {g.name: g.options.index(recipe.choice(g.name)) for g in schema.DISCRETE_GROUPS}


def recipe_from_parameters(unit_values: Iterable[float], choices: Mapping[str, str],
                           base: Recipe | None = None) -> Recipe:
    """Build a recipe from schema-ordered [0, 1] values and discrete choices (model outputs)."""
    recipe = base or Recipe()
    for group, option in choices.items():
        recipe = recipe.with_choice(group, option)
    values = {p.name: p.denormalise(float(u)) for p, u in zip(schema.CONTINUOUS, unit_values, strict=True)}
    return recipe.with_values(values)
