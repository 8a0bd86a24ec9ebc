"""Seed files: bundled and custom seeds, public objects, and what a seed's config may change."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from mh_mock.config import Config
from mh_mock.engine import Engine
from mh_mock.engine.seeds import bundled_seeds, load_seed
from mh_mock.errors import ConfigError
from mh_mock.inprocess import MhMock

from .contract_check import assert_valid_response


@pytest.mark.parametrize("name", sorted(bundled_seeds()))
def test_bundled_seeds_validate_and_load(name: str) -> None:
    seed = load_seed(name)
    with MhMock(preload=name) as fake:
        ids = {p["id"] for p in fake.projects()}
        assert ids == {p["id"] for p in seed.get("projects", [])}
        for project in fake.projects():
            body = {k: v for k, v in project.items() if k not in ("owner", "history")}
            assert_valid_response("audioProjects.getDetails", 200, body)


def test_the_every_status_seed_has_each_state() -> None:
    with MhMock(preload="every-status") as fake:
        states = {p["id"]: (p["status"], p["enabled"]) for p in fake.projects()}
    assert states["cuid-deleted"] == ("complete", False)
    assert {s for s, _ in states.values()} == {"queued", "rendering", "complete", "error", "canceled"}


def test_a_bad_seed_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"projects": [{"id": "x", "token": "t", "endpoint": "video", "status": "complete"}]}))
    with pytest.raises(ConfigError, match=r"Invalid value for projects\[0\]\.endpoint: the value is not one of"):
        load_seed(path)  # a file's contents never appear in the message
    with pytest.raises(ConfigError, match="no seed file 'missing': give a JSON file or one of: every-status, examples"):
        load_seed("missing")


def test_the_token_star_is_an_ordinary_private_account() -> None:
    with MhMock() as fake:
        created = httpx.post(
            "https://api.magichour.ai/v1/ai-music-generator",
            json={"duration": 15, "style": {"prompt": "x"}},
            headers={"authorization": "Bearer *"},
        ).json()
        other = httpx.get(
            f"https://api.magichour.ai/v1/audio-projects/{created['id']}", headers={"authorization": "Bearer b"}
        )
        assert other.status_code == 404
        assert fake.project(created["id"])["account_id"] == fake.account("*")["id"]


def test_a_public_example_survives_any_tokens_delete() -> None:
    with MhMock(preload="examples") as fake:
        for token in ("a", "b"):
            answer = httpx.delete(
                "https://api.magichour.ai/v1/audio-projects/cuid-example", headers={"authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 204
        project = fake.project("cuid-example")
        assert (project["enabled"], project["owner"], project["account_id"]) == (True, "*", None)


def test_canceling_a_seeded_unfinished_project_credits_nothing() -> None:
    engine = Engine(Config(preload="every-status"))
    before = engine.accounts.account("mhk_live_apikey").credits
    engine.controls.cancel("cuid-queued")
    assert engine.accounts.account("mhk_live_apikey").credits == before
    assert engine.state.project_body(engine.controls.project("cuid-queued"))["credits_charged"] == 0


def test_a_failed_reset_changes_nothing() -> None:
    engine = Engine(Config())
    kept = engine.api.create("t", "voice_generator", prompt="keep me", voice_name="Elon Musk").id
    duplicate = {"projects": [{"id": "x", "token": "t", "endpoint": "voice_generator", "status": "complete"}] * 2}
    with pytest.raises(ConfigError, match="already exists"):
        engine.reset(preload=duplicate)
    assert engine.controls.project(kept).id == kept and engine.config.preload is None
    with pytest.raises(ConfigError):
        engine.reset(failure_ratio=2)
    assert engine.api.get_project("t", kept)["status"] == "queued"


def test_explicit_options_beat_a_seed_even_at_their_default_value() -> None:
    with MhMock(starting_balance=10_000, preload="examples") as fake:
        assert fake.add_account("new")["credits"] == 10_000  # the examples seed says 12,500
    with MhMock(preload="examples") as fake:
        assert fake.add_account("new")["credits"] == 12_500


def test_a_seed_beats_the_standalone_profile() -> None:
    from mh_mock.standalone.app import standalone_config

    seed = {"config": {"progression": "poll"}}
    engine = Engine(standalone_config("http://127.0.0.1:1", preload=seed))
    assert engine.state.default.progression == "poll"  # mh-mock serve's clock progression is only a default
    engine = Engine(standalone_config("http://127.0.0.1:1", preload=seed, progression="clock"))
    assert engine.state.default.progression == "clock"  # but an explicit --progression beats the seed


def test_seeded_error_projects_keep_their_code_and_blank_tokens_are_refused() -> None:
    engine = Engine(Config(preload="every-status"))
    assert engine.controls.project("cuid-error").outcome.code == "text_too_long"
    body = engine.state.project_body(engine.controls.project("cuid-error"))
    assert body["error"] == {"message": "The text is longer than the 1000 characters this voice model accepts",
                             "code": "text_too_long"}  # fmt: skip
    for blank in ("", "   ", "\t"):
        with pytest.raises(ConfigError, match="a token must be a non-blank string"):
            engine.accounts.add_account(blank)
