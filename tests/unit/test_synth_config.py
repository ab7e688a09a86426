"""Generator configuration: presets, user files merged over them, and clear errors."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from surveillance.errors import ConfigError
from surveillance.schema.labels import Typology
from surveillance.synth.config import (
    PRESETS,
    EpisodeConfig,
    MarketConfig,
    Span,
    config_from_dict,
    load_config,
    preset_dict,
)
from surveillance.synth.market import generate_market


def preset_json(name: str) -> dict[str, Any]:
    """The preset file as shipped, read without the loader under test."""
    text = resources.files("surveillance.synth").joinpath(f"presets/{name}.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def write_json(tmp_path: Path, data: Any, name: str = "user.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def with_episode(cfg: MarketConfig, typology: Typology, **changes: Any) -> MarketConfig:
    """``cfg`` with one episode config changed (rate or parameter spans)."""
    out = []
    for ep in cfg.episodes:
        if ep.typology is typology:
            rate = changes.pop("per_100k_events", ep.per_100k_events)
            params = tuple((k, changes.get(k, v)) for k, v in ep.params)
            ep = EpisodeConfig(ep.typology, rate, params)
        out.append(ep)
    return replace(cfg, episodes=tuple(out))


def episode_counts(cfg: MarketConfig, n_events: int, seed: int) -> Counter[str]:
    market = generate_market(cfg, n_events, seed)
    return Counter(market.episodes.column("typology").to_pylist())


# ---------------------------------------------------------------- presets


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load_with_every_typology(preset: str) -> None:
    """GIVEN a shipped preset
    WHEN it is loaded
    THEN it carries its own name, every typology has an episode config, and the
    configured manipulators and trader classes are there."""
    cfg = load_config(preset)

    assert cfg.name == preset
    assert {ep.typology for ep in cfg.episodes} == set(Typology)
    assert cfg.manipulators >= 3
    assert {c.name for c in cfg.traders} == set(preset_json("default")["traders"])


def test_shifted_preset_is_default_with_its_own_changes() -> None:
    """GIVEN the shifted preset file, which names only what differs from default
    WHEN both presets are loaded
    THEN every value the shifted file names is taken from it, and every section it
    does not name is identical to the default."""
    default, shifted = load_config("default"), load_config("shifted")
    named = preset_json("shifted")

    for key, value in named["instruments"].items():
        got = getattr(shifted.instruments, key)
        assert (list((got.low, got.high)) if isinstance(got, Span) else got) == value, key
    for key, value in named["flow"].items():
        assert getattr(shifted.flow, key) == value, key
    for typ, body in named["episodes"].items():
        ep = shifted.episode(Typology(typ))
        for key, value in body.items():
            span = ep.span(key)
            assert [span.low, span.high] == value, f"{typ}.{key}"
    assert "session" not in named and shifted.session == default.session
    assert "traders" not in named and shifted.traders == default.traders
    assert shifted.manipulators == default.manipulators
    # and the things it names really differ from the default (the test is not vacuous)
    assert shifted.instruments != default.instruments
    assert shifted.flow != default.flow


@pytest.mark.parametrize("preset", PRESETS)
def test_user_file_changes_only_what_it_names(tmp_path: Path, preset: str) -> None:
    """GIVEN a user file naming one instrument key, one flow key and one episode span
    WHEN it is loaded over a preset
    THEN the result equals the preset with exactly those three values changed."""
    path = write_json(
        tmp_path,
        {
            "instruments": {"count": 3},
            "flow": {"sweep_p": 0.5},
            "episodes": {"spoofing": {"size_multiple": [2, 3]}},
        },
    )
    base = load_config(preset)

    loaded = load_config(preset, path)

    expected = replace(
        base,
        instruments=replace(base.instruments, count=3),
        flow=replace(base.flow, sweep_p=0.5),
    )
    expected = with_episode(expected, Typology.SPOOFING, size_multiple=Span(2.0, 3.0))
    assert expected != base
    # the name is compared apart: a user file may name its config
    assert replace(loaded, name="") == replace(expected, name="")


def test_user_file_can_name_its_config(tmp_path: Path) -> None:
    """GIVEN a user file with a name
    WHEN it is loaded
    THEN the config carries that name."""
    cfg = load_config("default", write_json(tmp_path, {"name": "calm_market"}))

    assert cfg.name == "calm_market"


# ---------------------------------------------------------------- errors


BAD_USER_FILES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("unknown top-level key", {"bogus": 1}, ("config", "bogus")),
    ("unknown flow key", {"flow": {"sweep_pp": 0.5}}, ("flow", "sweep_pp")),
    ("unknown trader key", {"traders": {"retail": {"speed": 1}}}, ("traders.retail", "speed")),
    ("missing key of a new class", {"traders": {"whale": {"count": 2}}}, ("traders.whale.",)),
    ("negative number", {"flow": {"sweep_p": -0.5}}, ("flow.sweep_p", ">= 0")),
    ("negative count", {"traders": {"hft": {"count": -1}}}, ("traders.hft.count",)),
    (
        "negative rate",
        {"episodes": {"spoofing": {"per_100k_events": -1}}},
        ("episodes.spoofing.per_100k_events",),
    ),
    ("text for a number", {"flow": {"sweep_p": "high"}}, ("flow.sweep_p",)),
    ("high below low", {"instruments": {"price": [10, 5]}}, ("instruments.price", "below")),
    (
        "episode span high below low",
        {"episodes": {"layering": {"n_levels": [6, 3]}}},
        ("episodes.layering.n_levels",),
    ),
    ("span not a pair", {"instruments": {"price": [1, 2, 3]}}, ("instruments.price",)),
    (
        "unknown typology",
        {"episodes": {"front_running": {"per_100k_events": 1}}},
        ("episodes.front_running", "typology"),
    ),
    ("too few manipulators", {"manipulators": 1}, ("manipulators",)),
    ("bad HH:MM open", {"session": {"open": "8am"}}, ("session.open", "HH:MM")),
    ("bad HH:MM close", {"session": {"close": "16:30:00"}}, ("session.close",)),
    ("time outside the day", {"session": {"lunch_center": "25:00"}}, ("session.lunch_center",)),
    ("close before open", {"session": {"close": "07:00"}}, ("session.close",)),
    ("bad start date", {"session": {"start_date": "March 2nd"}}, ("session.start_date",)),
]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [pytest.param(o, e, id=name) for name, o, e in BAD_USER_FILES],
)
def test_bad_user_file_raises_config_error_naming_the_key(
    tmp_path: Path, overrides: dict[str, Any], expected: tuple[str, ...]
) -> None:
    """GIVEN a user file with one bad value
    WHEN it is loaded over the default preset
    THEN ConfigError is raised at load time, and its message names the key path."""
    path = write_json(tmp_path, overrides)

    with pytest.raises(ConfigError) as caught:
        load_config("default", path)

    message = str(caught.value)
    for part in expected:
        assert part in message


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        (None, "flow", "flow"),
        (None, "episodes", "episodes"),
        ("session", "close", "session.close: missing"),
        ("flow", "sweep_p", "flow.sweep_p: missing"),
    ],
)
def test_missing_key_raises_config_error_naming_it(
    section: str | None, key: str, expected: str
) -> None:
    """GIVEN a complete config dict with one key removed
    WHEN it is built
    THEN ConfigError names the missing key (and its path)."""
    raw = preset_dict("default")
    del (raw if section is None else raw[section])[key]

    with pytest.raises(ConfigError, match=expected):
        config_from_dict(raw)


def test_unknown_preset_raises_config_error() -> None:
    """GIVEN a preset name that is not shipped
    WHEN it is loaded
    THEN ConfigError names the preset and lists the allowed ones."""
    with pytest.raises(ConfigError) as caught:
        load_config("aggressive")

    message = str(caught.value)
    assert "preset" in message and "aggressive" in message
    assert all(p in message for p in PRESETS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("{not json", "not JSON"), ("[1, 2]", "expected a JSON object"), ("", "not JSON")],
)
def test_user_file_that_is_not_a_json_object_raises(
    tmp_path: Path, text: str, expected: str
) -> None:
    """GIVEN a user file that is not JSON, or JSON but not an object
    WHEN it is loaded
    THEN ConfigError names the file and says what is wrong."""
    path = tmp_path / "broken.json"
    path.write_text(text)

    with pytest.raises(ConfigError) as caught:
        load_config("default", path)

    assert expected in str(caught.value)
    assert "broken.json" in str(caught.value)


def test_missing_user_file_raises_config_error(tmp_path: Path) -> None:
    """GIVEN a user file path that does not exist
    WHEN it is loaded
    THEN ConfigError names the file."""
    with pytest.raises(ConfigError, match=r"nowhere\.json"):
        load_config("default", tmp_path / "nowhere.json")


# ---------------------------------------------------------------- rates


def test_zero_rate_produces_no_episodes_of_that_typology(tmp_path: Path) -> None:
    """GIVEN a user file setting spoofing to 0 episodes per 100k events
    WHEN a market is generated
    THEN it has no spoofing episode nor spoofing label, while other typologies remain."""
    path = write_json(tmp_path, {"episodes": {"spoofing": {"per_100k_events": 0}}})
    market = generate_market(load_config("default", path), 30_000, seed=5)

    assert "spoofing" not in market.episodes.column("typology").to_pylist()
    assert "spoofing" not in market.labels.column("typology").to_pylist()
    assert "layering" in market.episodes.column("typology").to_pylist()


def test_doubling_a_rate_doubles_its_episodes(tmp_path: Path) -> None:
    """GIVEN the default config and one with the spoofing rate doubled
    WHEN markets of the same size are generated
    THEN spoofing episodes about double, and every other typology's count is unchanged."""
    base = load_config("default")
    rate = base.episode(Typology.SPOOFING).per_100k_events
    path = write_json(tmp_path, {"episodes": {"spoofing": {"per_100k_events": 2 * rate}}})

    before = episode_counts(base, 50_000, seed=9)
    after = episode_counts(load_config("default", path), 50_000, seed=9)

    assert before["spoofing"] >= 10
    assert 1.7 <= after["spoofing"] / before["spoofing"] <= 2.3
    others = set(before) | set(after)
    others.discard("spoofing")
    assert {t: after[t] for t in others} == {t: before[t] for t in others}
