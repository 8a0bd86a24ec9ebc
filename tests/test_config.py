"""Config: every option is checked once, by its schema, with a message that names it."""

from __future__ import annotations

import pytest

from mh_mock.config import OPTION_SCHEMAS, Config, Endpoint, Outcome, Timing
from mh_mock.errors import ConfigError


def test_a_misspelt_option_names_the_valid_ones() -> None:
    with pytest.raises(
        TypeError, match=r"unknown mh-mock option\(s\) starting_balanse; valid options are: starting_balance, seed"
    ):
        Config().replace(starting_balanse=3)


def test_timing_and_outcome_validation() -> None:
    with pytest.raises(ConfigError):
        Timing(-1, 2)
    with pytest.raises(ConfigError):
        Outcome("rendering")
    assert Outcome.parse("error:text_too_long").code == "text_too_long"
    assert Config(timings={Endpoint.MUSIC_GENERATOR: Timing(5, 5)}).timings[Endpoint.VOICE_GENERATOR] == Timing(1, 3)


def test_outcome_mappings_with_unknown_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="not bogus"):
        Outcome.parse({"bogus": 1})


def test_an_unknown_error_code_is_refused_unless_it_comes_with_a_message() -> None:
    with pytest.raises(ConfigError, match="unknown job error code 'no_such_code'; known codes are: text_too_long"):
        Outcome.parse("error:no_such_code")
    assert Outcome.error("my_code", "My own failure").code == "my_code"  # the set of codes is open


def test_every_option_has_a_schema_and_bad_values_name_the_option() -> None:
    assert set(OPTION_SCHEMAS) == set(Config.option_names())
    with pytest.raises(ConfigError, match="bad value for journal_limit: journal_limit must be at most 1000000"):
        Config(journal_limit=10**30)
    with pytest.raises(ConfigError, match="bad value for strict_auth: Invalid type for strict_auth: expected boolean"):
        Config(strict_auth="yes")  # type: ignore[arg-type]


def test_explicit_options_are_remembered_even_at_their_default() -> None:
    assert Config(starting_balance=10_000).explicit == {"starting_balance"}
    assert Config().replace(seed=1).explicit == {"seed"}
    profile = Config.profile(frozen_clock=False)
    assert profile.explicit == frozenset() and profile.frozen_clock is False
    assert profile.under({"frozen_clock": True, "seed": 3}).frozen_clock is True  # a seed beats a profile
    assert Config(seed=1).under({"seed": 3}).seed == 1  # an explicit option beats a seed
