"""ADE20k-outdoor: the outdoor subset of ADE20k that SIMS (Qi et al., CVPR 2018) introduced and SPADE and CoCosNet
reuse ("ADE20k-outdoor contains the outdoor images extracted from ADE20k, as the same protocol in SIMS", CoCosNet
§4; SPADE §4 says the same).

What is verified and what is our assumption:
- Verified: the subset is "the outdoor images" of ADE20k's SceneParse150 release, in its train/val split. None of
  the papers or codes we could search (SIMS, SPADE, CoCosNet) publishes the selection rule or an image list, and we
  could not verify the subset's sizes, so none are quoted here; compare the counts this reader logs with the papers'
  tables before relying on them.
- Assumption (the default rule ``scene_category``): an image is outdoor when its scene category in
  ``ADEChallengeData2016/sceneCategories.txt`` (``ADE_train_00000001 airport_terminal``, one image a line) is an
  outdoor scene: a name in ``OUTDOOR_SCENES`` (outdoor categories of the Places365 scene vocabulary ADE20k's scene
  names follow, with ``/`` written ``_``), or any name ending in ``_outdoor``. The full ADE20K release's index also
  carries scene names but is not part of ``ADEChallengeData2016``; we do not read it.
- Alternative rule ``sky`` (for copies without ``sceneCategories.txt``, e.g. CoCosNet's demo files): outdoor when
  "sky" (id 3) covers at least ``min_sky_fraction`` of the label map. A proxy, not the papers' rule.

Both settings (``rule``, ``min_sky_fraction``) go into the data fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from datasets.ade20k import ADE20K_LABELS, ADE20k
from datasets.real import REAL_DATASETS, Entry, read_raw_label
from datasets.real_files import checked_settings

# Outdoor scene names (Places365 outdoor categories and ADE20k's own outdoor scene names), as written in
# sceneCategories.txt. Names ending in "_outdoor" count as outdoor without being listed.
_OUTDOOR_TEXT = """
alley amphitheater amusement_park aqueduct arch archaeological_excavation army_base badlands balcony_exterior
bamboo_forest barn barndoor baseball_field basketball_court_outdoor bazaar_outdoor beach beach_house beer_garden
boardwalk boat_deck boathouse botanical_garden bridge building_facade bullring butte cabin_outdoor campsite campus
canal_natural canal_urban canyon castle cemetery chalet church_outdoor cliff coast construction_site corn_field
corral cottage courthouse courtyard creek crevasse crosswalk dam desert_road desert_sand desert_vegetation
doorway_outdoor downtown driveway embassy excavation farm field_cultivated field_road field_wild fire_escape
fire_station fishpond football_field forest forest_broadleaf forest_needleleaf forest_path forest_road
formal_garden fountain garden gas_station gazebo_exterior glacier golf_course greenhouse_outdoor harbor hayfield
heliport highway hospital hot_spring hotel_outdoor house hunting_lodge_outdoor ice_floe ice_shelf iceberg igloo
industrial_area inn_outdoor islet japanese_garden kasbah lagoon lake lake_natural landfill lawn lighthouse
loading_dock lock_chamber mansion manufactured_home marsh mausoleum medina moat_water mosque_outdoor motel mountain
mountain_path mountain_snowy oast_house ocean office_building oilrig orchard pagoda palace park parking_lot pasture
patio pavilion picnic_area pier playground plaza pond porch promenade racecourse raceway raft railroad_track
rainforest residential_neighborhood restaurant_patio rice_paddy river rock_arch roof_garden rope_bridge ruin runway
sandbox schoolhouse sea_cliff shed shopfront ski_resort ski_slope sky skyscraper slum snowfield soccer_field stable
stadium_baseball stadium_football stadium_soccer street swamp swimming_pool_outdoor synagogue_outdoor temple_asia
tower tree_farm tree_house trench tundra valley vegetable_garden viaduct village vineyard volcano
volleyball_court_outdoor water_park water_tower waterfall watering_hole wave wheat_field wind_farm windmill yard
zen_garden
"""
OUTDOOR_SCENES = frozenset(_OUTDOOR_TEXT.split())

SKY = ADE20K_LABELS.index("sky")


def read_scene_categories(path: Path) -> dict[str, str]:
    """``{image stem: scene category}`` from ``sceneCategories.txt`` (``<stem> <category>`` a line)."""
    scenes = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            scenes[parts[0]] = parts[1]
    return scenes


def is_outdoor_scene(category: str) -> bool:
    """Whether a ``sceneCategories.txt`` category counts as outdoor under the ``scene_category`` rule."""
    return category in OUTDOOR_SCENES or category.endswith("_outdoor")


def _by_scene(dataset: ADE20kOutdoor, entries: list[Entry]) -> list[Entry]:
    path = dataset.scene_file()
    if path is None:
        raise dataset.error("no sceneCategories.txt (the scene_category rule reads it)",
                            hint="use the sceneCategories.txt of ADEChallengeData2016.zip, or select with "
                                 "rule=sky (a label-map proxy)")
    scenes = read_scene_categories(path)
    return [e for e in entries if is_outdoor_scene(scenes.get(e.name, ""))]


def _by_sky(dataset: ADE20kOutdoor, entries: list[Entry]) -> list[Entry]:
    threshold = float(dataset.settings["min_sky_fraction"])
    return [e for e in entries if float(np.mean(read_raw_label(e.label) == SKY)) >= threshold]


OUTDOOR_RULES: dict[str, Callable[[ADE20kOutdoor, list[Entry]], list[Entry]]] = {
    "scene_category": _by_scene,
    "sky": _by_sky,
}
"""Selection rules by name (the ``rule`` setting); see the module docstring for what each assumes."""


@REAL_DATASETS.register("ade20k_outdoor")
class ADE20kOutdoor(ADE20k):
    """The outdoor images of ADE20k (same layouts, labels and items as ``ade20k``), selected by ``rule``.

    Settings: ``rule`` (a name in ``OUTDOOR_RULES``, default ``scene_category``) and ``min_sky_fraction`` (the
    ``sky`` rule's threshold, default 0.01). Raises ``DataError`` for an unknown rule or setting, and (rule
    ``scene_category``) when ``sceneCategories.txt`` is absent.
    """

    DEFAULTS: ClassVar[dict[str, Any]] = {"rule": "scene_category", "min_sky_fraction": 0.01}

    def __init__(self, root: str | Path | None = None, **settings: Any) -> None:
        super().__init__(root, **checked_settings("ade20k_outdoor", self.DEFAULTS, settings, {"rule": OUTDOOR_RULES}))

    def select(self, split: str, entries: list[Entry]) -> list[Entry]:
        return OUTDOOR_RULES[self.settings["rule"]](self, entries)

    def present(self) -> bool:
        return super().present() and (self.settings["rule"] != "scene_category" or self.scene_file() is not None)
