"""The domain dictionary shipped in the package: organisations, programmes,
regions and places, with their aliases (data/domain.tsv)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources


@dataclass(frozen=True)
class Entity:
    canonical: str
    kind: str  # org, programme, region, place
    aliases: tuple[str, ...] = ()
    region: str = ""  # the region a place or programme belongs to
    # How laws word the same thing (东西部科技合作 → 跨地区科学技术合作): searched when a question goes to the laws.
    statutory: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.canonical, *self.aliases)


@dataclass(frozen=True)
class Domain:
    entities: tuple[Entity, ...]

    @cached_property
    def by_name(self) -> dict[str, Entity]:
        """Every name and alias → its entity (built once; hashing the domain per call was slow)."""
        return {name: entity for entity in self.entities for name in entity.names}

    @cached_property
    def _names_longest_first(self) -> list[str]:
        return sorted(self.by_name, key=len, reverse=True)

    def canonical(self, name: str) -> str:
        """The canonical form of a name or alias; unknown names come back unchanged."""
        entity = self.by_name.get(name)
        return entity.canonical if entity else name

    def region_of(self, name: str) -> str:
        """The region a name belongs to ('' when none): 科技援疆 → 新疆, 拉萨 → 西藏."""
        entity = self.by_name.get(name)
        if entity is None:
            return ""
        return entity.canonical if entity.kind == "region" else entity.region

    def of_kind(self, kind: str) -> tuple[Entity, ...]:
        return tuple(e for e in self.entities if e.kind == kind)

    def split_run(self, run: str) -> list[str]:
        """Split names that run together without separators (a signature block)
        into canonical names by greedy longest match; unknown text is dropped."""
        names = self._names_longest_first
        found, i = [], 0
        while i < len(run):
            match = next((n for n in names if run.startswith(n, i)), None)
            if match:
                found.append(self.canonical(match))
                i += len(match)
            else:
                i += 1
        return found


@cache
def load_domain() -> Domain:
    """Parse the shipped dictionary once per process."""
    text = resources.files("qa.data").joinpath("domain.tsv").read_text(encoding="utf-8")
    entities = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t") + ["", "", "", ""]
        canonical, kind, aliases, region, statutory = (cell.strip() for cell in cells[:5])
        entities.append(Entity(canonical, kind, tuple(a for a in aliases.split("|") if a), region,
                               tuple(t for t in statutory.split("|") if t)))
    return Domain(tuple(entities))
