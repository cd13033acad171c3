"""The parameter schema: the one list of every parameter f2p predicts, samples, shows and writes.

Continuous parameters are MakeHuman modifiers (`group/target-min|max` in [-1, 1], or a
single-target / macro modifier in [0, 1]); discrete groups are mutually exclusive choices
(skin material, eye colour, eyebrows, hair, hair colour, beard, eyelashes). The seven head
shapes (`head/head-oval` ...) are independent sliders in [0, 1], as MakeHuman defines them, not a
choice of one. The CLI, the sampler, the models' output order and the app's slider panel all read
this module; nothing else lists parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Literal

SCHEMA_VERSION = 2  # 2: head shapes are seven continuous sliders (1: one archetype choice + intensity)

Region = Literal["macro", "head", "forehead", "eyebrows", "eyes", "nose", "mouth", "chin", "cheeks"]

#: Regions with a local model of their own (the paper's semantic crops).
LOCAL_REGIONS: tuple[Region, ...] = ("eyes", "eyebrows", "nose", "mouth", "chin", "cheeks", "forehead")
#: Regions only the aggregate model sees (global shape).
GLOBAL_REGIONS: tuple[Region, ...] = ("macro", "head")
REGIONS: tuple[Region, ...] = GLOBAL_REGIONS + LOCAL_REGIONS


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinuousParam:
    """One slider. `name` is the MakeHuman modifier name as written in a .mhm."""

    name: str
    region: Region
    minimum: float
    maximum: float
    default: float
    label: str
    #: Name of the left/right partner (`eyes/l-...` <-> `eyes/r-...`), if any.
    mirror: str | None = None
    #: One line saying what the two ends of the slider do, for artists.
    description: str = ""
    #: Other words an artist may search for (the region's synonyms: "jaw" for the chin, "lips"...).
    keywords: tuple[str, ...] = ()

    def matches(self, query: str) -> bool:
        """Whether every word of `query` appears in the label, description, MakeHuman name or keywords."""
        text = " ".join((self.label, self.description, self.name, *self.keywords)).lower()
        return all(word in text for word in query.lower().split())

    def clamp(self, value: float) -> float:
        return min(self.maximum, max(self.minimum, value))

    def normalise(self, value: float) -> float:
        """Map [minimum, maximum] onto [0, 1] (the models' target units)."""
        return (value - self.minimum) / (self.maximum - self.minimum)

    def denormalise(self, unit: float) -> float:
        return self.minimum + unit * (self.maximum - self.minimum)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscreteGroup:
    """Mutually exclusive choices; `options[0]` is the default. Options are only appended, never
    reordered or removed, so a model trained when the group had k options (k in `earlier_counts`)
    predicts the first k, and still loads."""

    name: str
    region: Region
    label: str
    options: tuple[str, ...]
    #: False for choices that are the artist's (eyelashes), not the models'.
    predicted: bool = True
    #: False for choices MakeHuman 1.1 has no .mhm line for (hair colour, beard): kept in f2p's JSON only.
    in_mhm: bool = True
    #: Option counts the group had in earlier schema versions (models trained then still load).
    earlier_counts: tuple[int, ...] = ()


# Face modifiers of MakeHuman 1.1 (`modeling_modifiers.json`), written (target, min, max).
# head-scale-* and head-trans-* are left out: alignment fixes scale and position (the paper
# removes that over-completeness), so they are unobservable. Ears and neck are left out too.
_HEAD = [("head-age", "decr", "incr"), ("head-angle", "in", "out"), ("head-fat", "decr", "incr"),
         ("head-back-scale-depth", "decr", "incr")]
_FOREHEAD = [("forehead-trans", "backward", "forward"), ("forehead-scale-vert", "decr", "incr"),
             ("forehead-nubian", "decr", "incr"), ("forehead-temple", "decr", "incr")]
_EYEBROWS = [("eyebrows-trans", "backward", "forward"), ("eyebrows-angle", "down", "up"),
             ("eyebrows-trans", "down", "up")]
_EYE = [("eye-bag", "decr", "incr"), ("eye-bag", "in", "out"), ("eye-bag-height", "decr", "incr"),
        ("eye-eyefold-angle", "down", "up"), ("eye-epicanthus", "in", "out"),
        ("eye-eyefold", "concave", "convex"), ("eye-eyefold", "down", "up"),
        ("eye-height1", "decr", "incr"), ("eye-height2", "decr", "incr"), ("eye-height3", "decr", "incr"),
        ("eye-push1", "in", "out"), ("eye-push2", "in", "out"), ("eye-trans", "in", "out"),
        ("eye-trans", "down", "up"), ("eye-scale", "decr", "incr"), ("eye-corner1", "down", "up"),
        ("eye-corner2", "down", "up")]
_NOSE = [("nose-trans", "down", "up"), ("nose-trans", "backward", "forward"), ("nose-trans", "in", "out"),
         ("nose-scale-vert", "decr", "incr"), ("nose-scale-horiz", "decr", "incr"),
         ("nose-scale-depth", "decr", "incr"), ("nose-nostrils-width", "decr", "incr"),
         ("nose-point-width", "decr", "incr"), ("nose-base", "down", "up"), ("nose-width1", "decr", "incr"),
         ("nose-width2", "decr", "incr"), ("nose-width3", "decr", "incr"),
         ("nose-compression", "compress", "uncompress"), ("nose-curve", "concave", "convex"),
         ("nose-greek", "decr", "incr"), ("nose-hump", "decr", "incr"), ("nose-volume", "decr", "incr"),
         ("nose-nostrils-angle", "down", "up"), ("nose-point", "down", "up"),
         ("nose-septumangle", "decr", "incr"), ("nose-flaring", "decr", "incr")]
_MOUTH = [("mouth-scale-horiz", "decr", "incr"), ("mouth-scale-vert", "decr", "incr"),
          ("mouth-scale-depth", "decr", "incr"), ("mouth-trans", "in", "out"), ("mouth-trans", "down", "up"),
          ("mouth-trans", "backward", "forward"), ("mouth-lowerlip-height", "decr", "incr"),
          ("mouth-lowerlip-width", "decr", "incr"), ("mouth-upperlip-height", "decr", "incr"),
          ("mouth-upperlip-width", "decr", "incr"), ("mouth-cupidsbow-width", "decr", "incr"),
          ("mouth-dimples", "in", "out"), ("mouth-laugh-lines", "in", "out"),
          ("mouth-lowerlip-ext", "down", "up"), ("mouth-angles", "down", "up"),
          ("mouth-lowerlip-middle", "down", "up"), ("mouth-lowerlip-volume", "decr", "incr"),
          ("mouth-philtrum-volume", "decr", "incr"), ("mouth-upperlip-volume", "decr", "incr"),
          ("mouth-upperlip-ext", "down", "up"), ("mouth-upperlip-middle", "down", "up"),
          ("mouth-cupidsbow", "decr", "incr")]
_CHIN = [("chin-jaw-drop", "decr", "incr"), ("chin-cleft", "decr", "incr"), ("chin-prominent", "decr", "incr"),
         ("chin-width", "decr", "incr"), ("chin-height", "decr", "incr"), ("chin-bones", "decr", "incr"),
         ("chin-prognathism", "decr", "incr")]
_CHEEK = [("cheek-volume", "decr", "incr"), ("cheek-bones", "decr", "incr"), ("cheek-inner", "decr", "incr"),
          ("cheek-trans", "down", "up")]

#: Macro modifiers in the order MakeHuman writes them. The last four are not in the schema
#: (alignment hides them) but every .mhm carries them.
MACRO_MODIFIERS: tuple[str, ...] = (
    "macrodetails/Gender", "macrodetails/Age", "macrodetails/African", "macrodetails/Asian",
    "macrodetails/Caucasian", "macrodetails-universal/Muscle", "macrodetails-universal/Weight",
    "macrodetails-height/Height", "macrodetails-proportions/BodyProportions", "breast/BreastSize",
    "breast/BreastFirmness",
)
ETHNIC_MODIFIERS: tuple[str, ...] = ("macrodetails/African", "macrodetails/Asian", "macrodetails/Caucasian")
_MACRO_WORDS = {"macrodetails/Gender": ("Gender", "◀ female · male ▶"),
                "macrodetails/Age": ("Age", "◀ 1 year · 25 years (middle) · 90 years ▶"),
                "macrodetails/African": ("African", "◀ none · all African traits ▶ (the three shares add up to 1)"),
                "macrodetails/Asian": ("Asian", "◀ none · all Asian traits ▶ (the three shares add up to 1)"),
                "macrodetails/Caucasian": ("Caucasian",
                                           "◀ none · all Caucasian traits ▶ (the three shares add up to 1)"),
                "macrodetails-universal/Muscle": ("Muscle", "◀ less muscular · more muscular ▶"),
                "macrodetails-universal/Weight": ("Weight", "◀ thinner · heavier ▶")}

#: MakeHuman's head-shape modifiers, `head/head-<shape>` in [0, 1], default 0; they add up.
HEAD_SHAPES: tuple[str, ...] = ("oval", "round", "rectangular", "square", "triangular", "invertedtriangular",
                                "diamond")


def head_shape_modifier(shape: str) -> str:
    """`head/head-<shape>`: the single-target MakeHuman modifier of a head shape."""
    return f"head/head-{shape}"
#: Skin tone of each ethnic skin family: MakeHuman's caucasian skins are light, asian medium, african dark.
SKIN_ETHNIC_BY_TONE: dict[str, str] = {"light": "caucasian", "medium": "asian", "dark": "african"}
SKIN_AGES: tuple[str, ...] = ("young", "middleage", "old")
#: MakeHuman 1.1's 18 system skins, `<age>_<ethnic>_<gender>`, young first: model sets trained when only
#: the six young skins existed predict the first six (`DiscreteGroup.earlier_counts`).
SKINS: tuple[str, ...] = tuple(f"{age}_{ethnic}_{gender}" for age in SKIN_AGES
                               for ethnic in ("caucasian", "african", "asian") for gender in ("female", "male"))
#: MakeHuman Age values at 40 and 60 years (Age 0.5 = 25 years, 1 = 90 years, linear between): the
#: upper ends of the young and middleage skins.
SKIN_AGE_BOUNDS: tuple[float, float] = (0.5 + 0.5 * 15 / 65, 0.5 + 0.5 * 35 / 65)


def skin_option(ethnic: str, gender: float, age: float) -> str:
    """The system skin of an ethnic family (caucasian, african, asian) for MakeHuman Gender and Age values."""
    band = SKIN_AGES[sum(age >= bound for bound in SKIN_AGE_BOUNDS)]
    return f"{band}_{ethnic}_{'male' if gender >= 0.5 else 'female'}"


EYE_COLOURS: tuple[str, ...] = ("brown", "brownlight", "green", "blue", "lightblue", "deepblue")
EYEBROWS: dict[str, str] = {
    "eyebrow001": "9c81ec3a-faa5-4c94-9cdb-992300ba3084", "eyebrow002": "a4e73c2f-3a12-47c8-b706-31a68cac6907",
    "eyebrow003": "4089e4e3-b842-40f4-91a4-0686118f7535", "eyebrow004": "eb028b6d-3ff8-40c7-a2ea-4d9aa808b38d",
    "eyebrow005": "9da0aea6-fdf3-4862-baa4-0d122074179a", "eyebrow006": "bb953a1a-db43-44db-a0ad-ed8a5d6000c9",
    "eyebrow007": "f2092456-86eb-423f-a5c6-2e0b3117d664", "eyebrow008": "79ea307f-a942-40dd-bf50-bbaa41f02034",
    "eyebrow009": "55b3b52a-379e-426d-b320-562ed57202b3", "eyebrow010": "8261cde8-7ce2-47f3-a7a2-edf459c50887",
    "eyebrow011": "19e43555-4613-4457-ac6e-c30bf350d275", "eyebrow012": "1c16325c-7831-4166-831a-05c5b609c219",
}
EYES_PROXY = ("HighPolyEyes", "2c12f43b-1303-432c-b7ce-d78346baf2e6")
#: MakeHuman 1.1's system hair: option -> (name as MakeHuman writes it in a .mhm, uuid).
HAIR: dict[str, tuple[str, str]] = {
    "afro01": ("afro01", "59627022-32e9-4126-9cf1-036d4b9335fc"),
    "bob01": ("bob01", "a153cb9b-2a28-45fa-a526-04e45146268e"),
    "bob02": ("bob02", "cd7840cf-b340-49e9-a505-8a5a22a86db2"),
    "braid01": ("Braid01", "eead6f99-d6c6-4f6b-b6c2-210459d7a62e"),
    "long01": ("long01", "6c6b0bb1-3608-40b8-9108-4bfd8fa71e39"),
    "ponytail01": ("ponytail01", "44e0340e-c7a6-4d22-814c-0632968d2dde"),
    "short01": ("short01", "766436e9-63ed-4f6a-afa9-99f3acff70a8"),
    "short02": ("short02", "c104cd4a-1edc-43f9-8b94-f63345a44638"),
    "short03": ("short03", "a6cb8ad2-2e0d-4655-81ef-bfce1676ec67"),
    "short04": ("short04", "e09bfd91-f83f-4f9a-ba8c-4635cd1ae0d8"),
}
NO_HAIR = "none"
#: MakeHuman 1.1's system eyelashes: option -> (name as written in a .mhm, uuid).
EYELASHES: dict[str, tuple[str, str]] = {
    "eyelashes01": ("Eyelashes01", "d533836f-13ad-4836-8b65-051108253cd2"),
    "eyelashes02": ("eyelashes02", "04a0718e-aaa4-4480-a013-ad51703bef6b"),
    "eyelashes03": ("eyelashes03", "a311babf-a7fb-4d65-a1fc-94ab99fe520f"),
    "eyelashes04": ("eyelashes04", "efd75993-8de1-43fb-b410-adc203091d25"),
}
#: Natural hair colours (hair, eyebrows and beard share one); linear RGB in `render.palette`.
HAIR_COLOURS: tuple[str, ...] = ("black", "dark_brown", "light_brown", "blonde", "red", "grey", "white")
#: Facial hair, drawn on the skin (MakeHuman 1.1 has no system beard).
BEARDS: tuple[str, ...] = ("none", "stubble", "moustache", "goatee", "full")

#: Words artists use for each region, found by the slider search beside the sliders' own words.
REGION_KEYWORDS: dict[Region, tuple[str, ...]] = {
    "macro": ("body", "sex", "ethnicity", "race", "skin"), "head": ("skull", "face shape", "cranium"),
    "forehead": ("brow", "temple", "skull"), "eyebrows": ("brow", "brows", "eyebrow"),
    "eyes": ("eye", "eyelid", "lid", "eyes"), "nose": ("nose", "nasal"),
    "mouth": ("lips", "lip", "mouth", "smile"), "chin": ("jaw", "jawline", "jawbone", "mandible", "chin"),
    "cheeks": ("cheekbone", "cheekbones", "cheek", "zygomatic"),
}

#: Human words for every face target: (name, what the slider's low end does, what its high end does).
#: Labels are the names ("Left eye size"); descriptions say both ends ("◀ smaller eye · bigger eye ▶").
#: Keyed by target, or target and low end where one target has two axes (`nose-trans-down`).
_WORDS: dict[str, tuple[str, str, str]] = {
    "head-age": ("Head age", "younger skull and face", "older skull and face"),
    "head-angle": ("Head tilt", "face tipped back", "face tipped forward"),
    "head-fat": ("Head fullness", "leaner face and skull", "fuller face and skull"),
    "head-back-scale-depth": ("Back of head", "flatter back of the skull", "rounder back of the skull"),
    "forehead-trans": ("Forehead slope", "forehead sloping back", "forehead pushed forward"),
    "forehead-scale-vert": ("Forehead height", "lower forehead", "taller forehead"),
    "forehead-nubian": ("Forehead bulge", "flatter forehead", "rounder (Nubian) forehead"),
    "forehead-temple": ("Temples", "hollow temples", "full temples"),
    "eyebrows-trans-backward": ("Brow ridge", "brow ridge set back", "brow ridge jutting forward"),
    "eyebrows-angle": ("Eyebrow angle", "outer ends of the brows lower", "outer ends of the brows higher"),
    "eyebrows-trans-down": ("Eyebrow height", "lower eyebrows", "higher eyebrows"),
    "eye-bag-decr": ("eye bags", "smoother under the eye", "heavier bags under the eye"),
    "eye-bag-in": ("eye bag puff", "bags sunken", "bags puffed out"),
    "eye-bag-height": ("eye bag height", "bags lower", "bags higher"),
    "eye-eyefold-angle": ("eyelid fold angle", "upper lid fold sloping down", "upper lid fold sloping up"),
    "eye-epicanthus": ("inner eyelid fold", "inner corner open (no epicanthic fold)",
                       "inner corner covered (epicanthic fold)"),
    "eye-eyefold-concave": ("eyelid fullness", "hollow upper lid", "full upper lid"),
    "eye-eyefold-down": ("eyelid fold height", "upper lid fold lower", "upper lid fold higher"),
    "eye-height1": ("eye opening inner", "inner part of the eye narrower", "inner part of the eye more open"),
    "eye-height2": ("eye opening middle", "middle of the eye narrower", "middle of the eye more open"),
    "eye-height3": ("eye opening outer", "outer part of the eye narrower", "outer part of the eye more open"),
    "eye-push1": ("upper lid depth", "upper eyelid pushed in", "upper eyelid pushed out"),
    "eye-push2": ("lower lid depth", "lower eyelid pushed in", "lower eyelid pushed out"),
    "eye-trans-in": ("eye spacing", "eye closer to the nose", "eye further from the nose"),
    "eye-trans-down": ("eye height", "eye lower", "eye higher"),
    "eye-scale": ("eye size", "smaller eye", "bigger eye"),
    "eye-corner1": ("inner eye corner", "inner corner lower", "inner corner higher"),
    "eye-corner2": ("outer eye corner", "outer corner lower (eye tilts down)", "outer corner higher (eye tilts up)"),
    "nose-trans-down": ("Nose height", "nose lower on the face", "nose higher on the face"),
    "nose-trans-backward": ("Nose projection", "nose set back", "nose sticking out"),
    "nose-trans-in": ("Nose sideways", "nose shifted to one side", "nose shifted to the other side"),
    "nose-scale-vert": ("Nose length", "shorter nose", "longer nose"),
    "nose-scale-horiz": ("Nose width", "narrower nose", "wider nose"),
    "nose-scale-depth": ("Nose depth", "flatter nose", "deeper nose"),
    "nose-nostrils-width": ("Nostril width", "narrower nostrils", "wider nostrils"),
    "nose-point-width": ("Nose tip width", "narrower tip", "broader tip"),
    "nose-base": ("Nose base", "base of the nose lower", "base of the nose higher"),
    "nose-width1": ("Bridge width top", "upper bridge narrower", "upper bridge wider"),
    "nose-width2": ("Bridge width middle", "middle of the bridge narrower", "middle of the bridge wider"),
    "nose-width3": ("Bridge width low", "lower bridge narrower", "lower bridge wider"),
    "nose-compression": ("Nose squash", "nose squashed", "nose stretched"),
    "nose-curve": ("Bridge curve", "scooped (concave) bridge", "arched (convex) bridge"),
    "nose-greek": ("Greek nose", "less of a straight Greek profile", "more of a straight Greek profile"),
    "nose-hump": ("Nose hump", "smaller bump on the bridge", "bigger bump on the bridge"),
    "nose-volume": ("Nose volume", "slimmer nose", "fleshier nose"),
    "nose-nostrils-angle": ("Nostril angle", "nostrils pointing down", "nostrils pointing up"),
    "nose-point": ("Nose tip height", "tip drooping", "tip turned up"),
    "nose-septumangle": ("Septum angle", "septum tilted down", "septum tilted up"),
    "nose-flaring": ("Nostril flare", "less flared nostrils", "more flared nostrils"),
    "mouth-scale-horiz": ("Mouth width", "narrower mouth", "wider mouth"),
    "mouth-scale-vert": ("Lips height", "thinner lips overall", "taller lips overall"),
    "mouth-scale-depth": ("Lips depth", "flatter lips", "more protruding lips"),
    "mouth-trans-in": ("Mouth sideways", "mouth shifted to one side", "mouth shifted to the other side"),
    "mouth-trans-down": ("Mouth height", "mouth lower on the face", "mouth higher on the face"),
    "mouth-trans-backward": ("Mouth projection", "mouth set back", "mouth pushed forward"),
    "mouth-lowerlip-height": ("Lower lip height", "thinner lower lip", "taller lower lip"),
    "mouth-lowerlip-width": ("Lower lip width", "narrower lower lip", "wider lower lip"),
    "mouth-upperlip-height": ("Upper lip height", "thinner upper lip", "taller upper lip"),
    "mouth-upperlip-width": ("Upper lip width", "narrower upper lip", "wider upper lip"),
    "mouth-cupidsbow-width": ("Cupid's bow width", "narrower cupid's bow", "wider cupid's bow"),
    "mouth-dimples": ("Dimples", "dimples pressed in", "dimples filled out"),
    "mouth-laugh-lines": ("Laugh lines", "deeper smile lines", "smoother smile lines"),
    "mouth-lowerlip-ext": ("Lower lip sides", "sides of the lower lip down", "sides of the lower lip up"),
    "mouth-angles": ("Mouth corners", "corners turned down (frown)", "corners turned up (smile)"),
    "mouth-lowerlip-middle": ("Lower lip centre", "centre of the lower lip down", "centre of the lower lip up"),
    "mouth-lowerlip-volume": ("Lower lip fullness", "thinner lower lip", "fuller lower lip"),
    "mouth-philtrum-volume": ("Philtrum", "flatter groove above the lip", "fuller groove above the lip"),
    "mouth-upperlip-volume": ("Upper lip fullness", "thinner upper lip", "fuller upper lip"),
    "mouth-upperlip-ext": ("Upper lip sides", "sides of the upper lip down", "sides of the upper lip up"),
    "mouth-upperlip-middle": ("Upper lip centre", "centre of the upper lip down", "centre of the upper lip up"),
    "mouth-cupidsbow": ("Cupid's bow", "flatter bow of the upper lip", "sharper bow of the upper lip"),
    "chin-jaw-drop": ("Jaw drop", "shorter lower face", "longer lower face (jaw lower)"),
    "chin-cleft": ("Chin cleft", "smooth chin", "cleft chin"),
    "chin-prominent": ("Chin projection", "receding chin", "prominent chin"),
    "chin-width": ("Chin width", "narrower chin", "wider chin"),
    "chin-height": ("Chin height", "shorter chin", "taller chin"),
    "chin-bones": ("Jaw width", "narrower jaw angles", "wider jaw angles (square jaw)"),
    "chin-prognathism": ("Underbite", "jaw set back (overbite)", "jaw jutting forward (underbite)"),
    "cheek-volume": ("cheek fullness", "hollow cheek", "full cheek"),
    "cheek-bones": ("cheekbone", "flatter cheekbone", "more prominent cheekbone"),
    "cheek-inner": ("inner cheek", "inner cheek flatter", "inner cheek fuller"),
    "cheek-trans": ("cheek height", "cheek lower", "cheek higher"),
}

DISCRETE_GROUPS: tuple[DiscreteGroup, ...] = (
    DiscreteGroup(name="skin", region="macro", label="Skin", options=SKINS, earlier_counts=(6,)),  # 6 young skins
    DiscreteGroup(name="eye_colour", region="eyes", label="Eye colour", options=EYE_COLOURS),
    DiscreteGroup(name="eyebrows", region="eyebrows", label="Eyebrows", options=tuple(EYEBROWS)),
    DiscreteGroup(name="hair", region="head", label="Hair", options=(NO_HAIR, *HAIR)),
    DiscreteGroup(name="hair_colour", region="head", label="Hair colour", options=HAIR_COLOURS, in_mhm=False),
    DiscreteGroup(name="beard", region="chin", label="Beard", options=BEARDS, in_mhm=False),
    DiscreteGroup(name="eyelashes", region="eyes", label="Eyelashes", options=tuple(EYELASHES), predicted=False),
)


def _words(target: str, low: str) -> tuple[str, str]:
    """(label, description) of a face target (`l-`/`r-` prefixed for a side) from `_WORDS`."""
    side = {"l-": "Left ", "r-": "Right "}.get(target[:2], "")
    bare = target[2:] if side else target
    name, low_end, high_end = _WORDS.get(f"{bare}-{low}") or _WORDS[bare]
    return (side + name if side else name), f"◀ {low_end} · {high_end} ▶"


def _pair_params(group: str, region: Region, rows: list[tuple[str, str, str]], sides: tuple[str, ...] = ("",)
                 ) -> list[ContinuousParam]:
    params = []
    for target, low, high in rows:
        for side in sides:
            name = f"{group}/{side}{target}-{low}|{high}"
            mirror = None
            if side:
                other = "l-" if side == "r-" else "r-"
                mirror = f"{group}/{other}{target}-{low}|{high}"
            label, description = _words(side + target, low)
            params.append(ContinuousParam(name=name, region=region, minimum=-1.0, maximum=1.0, default=0.0,
                                          label=label, description=description, mirror=mirror,
                                          keywords=REGION_KEYWORDS[region]))
    return params


def _build_continuous() -> tuple[ContinuousParam, ...]:
    macro = [ContinuousParam(name=n, region="macro", minimum=0.0, maximum=1.0,
                             default=1.0 / 3 if n in ETHNIC_MODIFIERS else 0.5, label=_MACRO_WORDS[n][0],
                             description=_MACRO_WORDS[n][1], keywords=REGION_KEYWORDS["macro"])
             for n in MACRO_MODIFIERS if n in _MACRO_WORDS]
    head = _pair_params("head", "head", _HEAD)
    for shape in HEAD_SHAPES:
        words = shape.replace("invertedtriangular", "inverted triangle").replace("angular", "angle")
        head.append(ContinuousParam(
            name=head_shape_modifier(shape), region="head", minimum=0.0, maximum=1.0, default=0.0,
            label=f"{words.capitalize()} head", keywords=REGION_KEYWORDS["head"],
            description=f"◀ none · the head blended toward a {words} outline ▶ (shapes add up)"))
    return tuple(
        macro + head
        + _pair_params("forehead", "forehead", _FOREHEAD)
        + _pair_params("eyebrows", "eyebrows", _EYEBROWS)
        + _pair_params("eyes", "eyes", _EYE, sides=("r-", "l-"))
        + _pair_params("nose", "nose", _NOSE)
        + _pair_params("mouth", "mouth", _MOUTH)
        + _pair_params("chin", "chin", _CHIN)
        + _pair_params("cheek", "cheeks", _CHEEK, sides=("l-", "r-"))
    )


CONTINUOUS: tuple[ContinuousParam, ...] = _build_continuous()


@cache
def continuous_by_name() -> dict[str, ContinuousParam]:
    return {p.name: p for p in CONTINUOUS}


@cache
def discrete_by_name() -> dict[str, DiscreteGroup]:
    return {g.name: g for g in DISCRETE_GROUPS}


def params_in_region(region: Region) -> tuple[ContinuousParam, ...]:
    return tuple(p for p in CONTINUOUS if p.region == region)


@cache  # called per modifier on every mesh evaluation
def modifier_targets(name: str) -> tuple[str | None, str]:
    """Target files (without extension) a face modifier drives: (negative side or None, positive side).

    `nose/nose-trans-down|up` -> (`nose/nose-trans-down`, `nose/nose-trans-up`);
    `head/head-oval` -> (None, `head/head-oval`).
    """
    group, _, rest = name.partition("/")
    if "|" not in rest:
        return None, f"{group}/{rest}"
    left, _, high = rest.partition("|")
    stem, _, low = left.rpartition("-")
    return f"{group}/{stem}-{low}", f"{group}/{stem}-{high}"


def target_files(modifiers: Iterable[str]) -> list[str]:
    """Target files (without extension) the given modifiers drive, in order (`modifier_targets`)."""
    return [target for name in modifiers for target in modifier_targets(name) if target is not None]


@cache
def face_modifiers() -> tuple[str, ...]:
    """Every MakeHuman face modifier the head model applies: the schema's non-macro sliders."""
    return tuple(p.name for p in CONTINUOUS if p.region != "macro")
