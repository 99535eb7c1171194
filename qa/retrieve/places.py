"""Places a question names that the collection does not cover (qa/data/places.toml).

A question about 济南市历下区 must not be answered from 兰山区's policy just because the topic
matches. A place is covered when it is a region of the collection, lies inside one (黄岛 in 青岛),
or contains one (烟台 contains 招远: its county-level documents apply there).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from qa import data


# what makes a name that is also a word (惠民医疗, 全市中小企业) a place: its suffix (惠民县, 市中区)
_SUFFIX = re.compile(r"[区县市]")


@dataclass(frozen=True)
class Gazetteer:
    city_of: dict[str, str]  # district or city → its city
    pattern: re.Pattern[str]
    words: frozenset[str] = frozenset()  # names that are also words: places only with a suffix or their city
    phrases: re.Pattern[str] | None = None  # words a name sits inside (高密度, 全市中小企业): no place there
    inside: frozenset[str] = frozenset()  # those words, as listed

    def mentioned(self, text: str) -> list[str]:
        if self.phrases is not None:
            text = self.phrases.sub(lambda m: " " * len(m.group(0)), text)
        out = []
        for m in self.pattern.finditer(text):
            name = m.group(0)
            if name in self.words:
                city = self.city_of[name]
                if not (_SUFFIX.match(text, m.end()) or text[: m.start()].endswith((city, city + "市"))):
                    continue
            out.append(name)
        return list(dict.fromkeys(out))

    @cached_property  # frozen, and asked on every answer: worked out once
    def district_names(self) -> tuple[str, ...]:
        """Districts and counties (not cities) whose bare name is only a place: not one that is also a word
        (平原) or sits inside one (市中 of 全市中小企业). Longest first, ready for an alternation."""
        names = [
            d for d, c in self.city_of.items()
            if d != c and d not in self.words and not any(d in w for w in self.inside)
        ]
        return tuple(sorted(names, key=len, reverse=True))

    @cached_property
    def district_alternation(self) -> str:
        """`district_names` as one regular-expression alternation (the `{district}` of slots.toml [local])."""
        return "|".join(map(re.escape, self.district_names))


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    table = data.load("places.toml")
    city_of: dict[str, str] = {}
    for city, districts in table["cities"].items():
        city_of[city] = city
        for d in districts:
            city_of.setdefault(d, city)
    for city in table.get("other", {}).get("cities", []):
        city_of.setdefault(city, city)
    names = sorted(city_of, key=len, reverse=True)
    words = table.get("words", {})
    inside = words.get("inside", [])
    return Gazetteer(
        city_of, re.compile("|".join(map(re.escape, names))), frozenset(words.get("names", [])),
        re.compile("|".join(map(re.escape, inside))) if inside else None, frozenset(inside),
    )


def uncovered_places(question: str, regions: list[str]) -> list[str]:
    """Places named in `question` that none of the collection's `regions` covers."""
    g = gazetteer()
    whole_cities: set[str] = set()  # a city the collection covers as a whole (青岛市)
    parts: set[str] = set()  # districts and counties it covers (兰山, 周村, 招远)
    for region in regions:
        names = g.mentioned(region)
        smallest = names[-1] if names else None
        if smallest is None:
            continue
        if g.city_of[smallest] == smallest:
            whole_cities.add(smallest)
        else:
            parts.add(smallest)
    part_cities = {g.city_of[p] for p in parts}
    out = []
    for place in g.mentioned(question):
        city = g.city_of[place]
        if place in parts or city in whole_cities or (place == city and city in part_cities):
            continue
        out.append(place)
    return out
