"""The control operations on the engine: what each one does, and the errors that name what was wrong."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mh_mock.control.remote import Control, ControlError
from mh_mock.engine.seeds import import_project, import_upload
from mh_mock.errors import ConfigError, NotFound

from .engines import START, T, uploaded
from .engines import create_voice as _voice
from .engines import new_engine as _engine


def test_projects_can_be_listed_by_status_and_by_owner() -> None:
    engine = _engine()
    done, queued, other = _voice(engine), _voice(engine), _voice(engine, "other")
    engine.controls.finish(done)
    assert [p.id for p in engine.controls.projects(status="complete")] == [done]
    assert [p.id for p in engine.controls.projects(status="queued")] == [queued, other]
    assert [p.id for p in engine.controls.projects(token="other")] == [other]
    assert [p.id for p in engine.controls.projects(token=T, status="queued")] == [queued]


def test_projects_page_from_the_newest_end_and_filter_by_account_id() -> None:
    engine = _engine()
    first = [_voice(engine, "a") for _ in range(3)]
    other = _voice(engine, "b")
    last = _voice(engine, "a")
    account = engine.accounts.account("a").id

    def ids(**query: Any) -> list[str]:
        return [p.id for p in engine.controls.projects(**query)]

    assert ids(limit=2) == [other, last]  # the newest two, still oldest first
    assert ids(limit=99) == [*first, other, last]
    assert ids(account=account) == [*first, last]
    assert ids(account=account, limit=2) == [first[2], last]
    assert ids(token="b", account=account) == []  # a token and another account's id: nothing is both
    assert ids(status="queued", limit=1) == [last]
    with pytest.raises(NotFound, match=re.escape("No account with id 'acct_nope'")):
        engine.controls.projects(account="acct_nope")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="limit must be a whole number of at least 1"):
            engine.controls.projects(limit=bad)  # type: ignore[arg-type]


def test_the_admin_api_pages_projects_and_refuses_a_bad_page(fake: Control) -> None:
    made = [fake.create_project("mhk_test_pages")["id"] for _ in range(3)]
    account = fake.account("mhk_test_pages")["id"]
    assert [p["id"] for p in fake.projects(limit=2)] == made[1:]
    assert [p["id"] for p in fake.projects(account=account, limit=1)] == made[2:]
    with pytest.raises(ControlError) as refused:
        fake.projects(limit=0)
    assert refused.value.status == 400 and "limit" in refused.value.message
    with pytest.raises(ControlError) as unknown:
        fake.projects(account="acct_nope")
    assert unknown.value.status == 404


def test_controls_refuse_a_token_no_api_call_could_carry() -> None:
    engine = _engine()
    long = "k" * 257
    for make in (
        lambda: engine.accounts.add_account(long),
        lambda: engine.accounts.set_balance(long, 5),
        lambda: engine.accounts.reset_tenant(long),
        lambda: engine.accounts.remove_tenant(long),
        lambda: engine.simulation.add_rule({"outcome": "error", "token": long}),
        lambda: engine.simulation.add_fault({"kind": "reset", "token": long}),
        lambda: engine.webhooks.add("http://127.0.0.1:9/hook", "s", token=long),
    ):
        with pytest.raises(ConfigError, match="a token has at most 256 characters"):
            make()
    assert engine.accounts.accounts() == []
    engine.accounts.add_account("k" * 256)  # the longest an API call may carry


def test_an_account_unknown_to_the_fake_is_not_found_with_a_hint() -> None:
    with pytest.raises(NotFound, match=re.escape("it has made no API call yet (add_account registers one up front)")):
        _engine().accounts.account("nobody")


def test_a_bad_progression_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=re.escape("progression must be one of clock, poll, got 'later'")):
        _engine().controls.set_progression("later")


def test_a_tenants_progression_is_its_own() -> None:
    engine = _engine(progression="poll")
    engine.accounts.reset_tenant("mine")
    engine.controls.set_progression("clock", tenant="mine")
    mine, shared = _voice(engine, "mine"), _voice(engine)
    engine.controls.advance(100, tenant="mine")
    engine.controls.advance(100)
    assert engine.controls.project(mine).status == "complete"
    assert engine.controls.project(shared).status == "queued"  # the fake's own progression is still poll
    assert engine.api.get_project(T, shared)["status"] == "queued"
    assert engine.controls.project(shared).status == "rendering"


def test_a_tenant_takes_the_fakes_progression_and_reads_per_step_unless_given() -> None:
    engine = _engine(progression="clock", reads_per_step=2)
    engine.accounts.reset_tenant("clocked")
    engine.accounts.reset_tenant("polled", progression="poll")
    clocked, polled = _voice(engine, "clocked"), _voice(engine, "polled")
    engine.controls.advance(1, tenant="clocked")
    assert engine.controls.project(clocked).status == "rendering"
    assert [engine.api.get_project("polled", polled)["status"] for _ in range(3)] == ["queued", "queued", "rendering"]


def test_a_tenants_starting_balance_gives_its_account_those_credits() -> None:
    engine = _engine(starting_balance=50)
    engine.accounts.reset_tenant("rich", starting_balance=900)
    engine.accounts.reset_tenant("plain")
    assert engine.api.account_body("rich")["credits"] == 900
    assert engine.api.account_body("plain")["credits"] == 50


def test_a_tenant_option_that_is_not_per_token_is_refused_by_name() -> None:
    with pytest.raises(
        ConfigError,
        match=r"seed cannot be set for one test on a shared server .*a test may set starting_balance, progression",
    ):
        _engine().accounts.reset_tenant("t", seed=3)


def test_removing_a_tenant_forgets_its_projects_uploads_account_faults_and_webhooks() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("gone")
    project = _voice(engine, "gone")
    [slot] = engine.api.create_upload_urls("gone", [("audio", "wav")])
    kept = _voice(engine)
    engine.simulation.add_fault({"kind": "rate_limit", "token": "gone", "times": None})
    engine.simulation.add_fault({"kind": "rate_limit", "token": T, "times": None})
    engine.webhooks.add(lambda headers, body: 200, "s", token="gone")
    engine.controls.finish(project)
    engine.accounts.remove_tenant("gone")
    assert [p.id for p in engine.controls.projects()] == [kept]
    assert [a.token for a in engine.accounts.accounts()] == [T]
    with pytest.raises(NotFound):
        engine.controls.project(project)
    assert engine.api.owner_of(file_path=slot["file_path"]) is None
    assert engine.simulation.pick_fault("account.get", None, "gone") is None
    assert engine.simulation.pick_fault("account.get", None, T) is not None
    assert engine.webhooks.take_due() == []
    with pytest.raises(ConfigError, match="there is no namespace 'gone'"):
        engine.controls.advance(1, tenant="gone")
    engine.accounts.remove_tenant("never-was")  # nothing to forget is fine


def test_a_namespace_that_was_never_made_is_named_with_what_to_do() -> None:
    with pytest.raises(ConfigError, match=re.escape("there is no namespace 'stranger': reset it first (reset_tenant)")):
        _engine().controls.advance(1, tenant="stranger")


def test_stepping_or_deciding_a_finished_project_says_why_not() -> None:
    engine = _engine()
    project_id = _voice(engine)
    engine.controls.finish(project_id)
    with pytest.raises(ConfigError, match=re.escape(f"project {project_id} is already complete; it cannot move on")):
        engine.controls.step(project_id)
    with pytest.raises(ConfigError, match=re.escape("is already complete; its outcome is fixed")):
        engine.controls.set_outcome(project_id, "error")


def test_force_moves_a_queued_project_to_rendering_and_never_back() -> None:
    engine = _engine()
    project_id = _voice(engine)
    forced = engine.controls.force(project_id, "rendering")
    assert forced.id == project_id and forced.status == "rendering"
    assert engine.controls.project(project_id).status == "rendering"
    with pytest.raises(ConfigError, match=re.escape(f"project {project_id} is rendering; statuses only move forward")):
        engine.controls.force(project_id, "rendering")


@pytest.mark.parametrize(
    ("status", "code", "expected_error"),
    [("complete", None, None), ("error", "invalid_voice", {"code": "invalid_voice"})],
)
def test_force_finishes_a_project_with_the_status_given(
    status: str, code: str | None, expected_error: dict[str, str] | None
) -> None:
    engine = _engine()
    project_id = _voice(engine)
    assert engine.controls.force(project_id, status, code=code).status == status
    body = engine.api.get_project(T, project_id)
    assert body["status"] == status
    assert (body["error"] and {"code": body["error"]["code"]}) == expected_error


def test_deleting_a_project_by_control_returns_it_disabled_and_canceled() -> None:
    engine = _engine()
    project_id = _voice(engine)
    deleted = engine.controls.delete(project_id)
    assert (deleted.id, deleted.enabled, deleted.status) == (project_id, False, "canceled")


def test_an_added_account_keeps_the_email_and_tier_given() -> None:
    engine = _engine(account_email="default@example.com")
    given = engine.accounts.add_account("a", 5, email="a@example.com", tier="pro")
    assert (given.email, given.tier, given.credits) == ("a@example.com", "pro", 5)
    plain = engine.accounts.add_account("b")
    assert (plain.email, plain.tier, plain.credits) == ("default@example.com", "creator", 10_000)
    assert engine.api.account_body("a") | {"id": None} == {
        "id": None, "email": "a@example.com", "tier": "pro", "credits": 5, "subscription": None,
    }  # fmt: skip


def test_a_bad_tier_names_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=re.escape("tier must be one of free, creator, pro, business, got 'gold'")):
        _engine().accounts.add_account("a", tier="gold")


@pytest.mark.parametrize("credits", [None, -1, 2**53, True, 1.5])
def test_a_balance_must_be_a_whole_number_of_credits(credits: object) -> None:
    engine = _engine()
    engine.accounts.add_account("a", 5)
    with pytest.raises(ConfigError, match="credits must be an integer >= 0"):
        engine.accounts.set_balance("a", credits)  # type: ignore[arg-type]
    assert engine.accounts.account("a").credits == 5


@pytest.mark.parametrize("credits", [-1, 2**53, True])
def test_an_added_account_needs_a_whole_number_of_credits_too(credits: object) -> None:
    engine = _engine()
    with pytest.raises(ConfigError, match="credits must be an integer >= 0"):
        engine.accounts.add_account("a", credits)  # type: ignore[arg-type]
    assert engine.accounts.accounts() == []


def test_the_largest_balance_is_two_to_the_53_minus_one() -> None:
    engine = _engine()
    assert engine.accounts.set_balance("a", 2**53 - 1).credits == 2**53 - 1
    assert engine.accounts.add_account("b", 2**53 - 1).credits == 2**53 - 1


def test_a_balance_can_be_set_by_account_id_and_an_unknown_id_is_not_found() -> None:
    engine = _engine()
    account = engine.accounts.add_account("a", 5)
    assert engine.accounts.set_balance_by_id(account.id, 70).credits == 70
    assert engine.api.account_body("a")["credits"] == 70
    with pytest.raises(NotFound, match=re.escape("No account with id 'nope'")):
        engine.accounts.set_balance_by_id("nope", 1)


def test_a_rule_added_as_json_gets_the_next_id_and_can_be_removed_by_it() -> None:
    engine = _engine()
    first = engine.simulation.add_rule({"outcome": "error:invalid_voice"})
    second = engine.simulation.add_rule({"outcome": "canceled"})
    assert (first.id, second.id) == ("rule-1", "rule-2")
    engine.simulation.remove_rule("rule-1")
    assert engine.controls.finish(_voice(engine))[0].status == "canceled"  # rule-2 decides: rule-1 is gone
    with pytest.raises(NotFound, match="rule-1"):
        engine.simulation.remove_rule("rule-1")


def test_clearing_one_namespaces_faults_keeps_the_others() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("a")
    engine.accounts.reset_tenant("b")
    engine.simulation.add_fault({"kind": "rate_limit", "tenant": "a", "times": None})
    engine.simulation.add_fault({"kind": "rate_limit", "tenant": "b", "times": None})
    engine.simulation.clear_faults(tenant="a")
    assert engine.simulation.pick_fault("account.get", None, "a") is None
    assert engine.simulation.pick_fault("account.get", None, "b") is not None


def test_a_webhook_added_for_a_token_only_hears_of_that_tokens_projects() -> None:
    engine = _engine()
    endpoint = engine.webhooks.add(lambda headers, body: 200, "s", token="mine")
    assert endpoint.token == "mine"
    engine.controls.finish(_voice(engine, "theirs"))
    assert engine.webhooks.take_due() == []
    engine.controls.finish(_voice(engine, "mine"))
    assert len(engine.webhooks.take_due()) == 1  # audio.started first; completed waits behind it


def test_import_project_names_the_valid_statuses() -> None:
    with pytest.raises(ConfigError, match=re.escape("status must be one of queued, rendering, complete, error")):
        import_project(_engine(), project_id="p", owner="*", endpoint="voice_generator", status="done")  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["complete", "canceled"])
def test_an_imported_finished_project_ends_as_its_status_whatever_outcome_is_given(status: str) -> None:
    from mh_mock.config import Outcome
    from mh_mock.vendor import Endpoint

    engine = _engine()
    project = import_project(
        engine, project_id="p", owner="a", endpoint=Endpoint.VOICE_GENERATOR, status=status, outcome=Outcome.error()
    )
    assert project.enabled is True
    body = engine.api.get_project("a", "p")
    assert (body["status"], body["error"], body["enabled"]) == (status, None, True)


def test_an_imported_errored_project_keeps_only_an_error_outcome() -> None:
    from mh_mock.config import Outcome
    from mh_mock.vendor import Endpoint

    engine = _engine()
    import_project(
        engine,
        project_id="p",
        owner="a",
        endpoint=Endpoint.VOICE_GENERATOR,
        status="error",
        outcome=Outcome("complete"),
    )
    assert engine.api.get_project("a", "p")["error"]["code"] == "unknown_error"


def test_an_imported_upload_is_an_input_for_a_clone_whatever_its_name() -> None:
    from mh_mock.audio import render_wav

    engine = _engine()
    import_upload(engine, "api-assets/x/voice.WAV", "*", render_wav("k", 1.0))
    import_upload(engine, "api-assets/y/no-extension", "a", render_wav("k", 1.0))
    import_upload(engine, "api-assets/z/noise.mp3", "a", b"not audio")
    good = engine.api.create("a", "voice_cloner", audio_file_path="api-assets/x/voice.WAV", prompt="hi")
    bare = engine.api.create("a", "voice_cloner", audio_file_path="api-assets/y/no-extension", prompt="hi")
    bad = engine.api.create("a", "voice_cloner", audio_file_path="api-assets/z/noise.mp3", prompt="hi")
    assert [engine.controls.finish(p.id)[0].outcome.code for p in (good, bare, bad)] == [
        None, None, "invalid_file_format",
    ]  # fmt: skip
    assert uploaded(engine, "api-assets/x/voice.WAV") == render_wav("k", 1.0)
    with pytest.raises(ConfigError, match="uploaded file paths start with 'api-assets/'"):
        import_upload(engine, "elsewhere/x.wav", "a", b"")


def test_finishing_one_namespaces_jobs_leaves_the_others() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("mine")
    mine, theirs = _voice(engine, "mine"), _voice(engine, "theirs")
    assert [p.id for p in engine.controls.finish(tenant="mine")] == [mine]
    assert engine.controls.project(theirs).status == "queued"


def test_a_bad_forced_status_names_the_valid_ones() -> None:
    engine = _engine()
    with pytest.raises(
        ConfigError, match=re.escape("status must be one of rendering, complete, error, canceled, got 'queued'")
    ):
        engine.controls.force(_voice(engine), "queued")


def test_a_fault_can_be_added_as_a_fault_object() -> None:
    from mh_mock.engine.faults import Fault

    engine = _engine()
    added = engine.simulation.add_fault(Fault(kind="reset", route="account.get"))  # type: ignore[arg-type]
    assert added.id == "fault-1"
    assert engine.simulation.pick_fault("account.get", None, T) is added


def test_removing_a_tenant_drops_the_rules_aimed_at_it() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("gone")
    engine.simulation.add_rule({"outcome": "error:invalid_voice", "token": "gone"})
    engine.accounts.remove_tenant("gone")
    assert engine.controls.finish(_voice(engine, "gone"))[0].status == "complete"


def test_a_rule_for_one_token_does_not_decide_another_tokens_jobs() -> None:
    engine = _engine()
    engine.simulation.add_rule({"outcome": "error:invalid_voice", "token": "a"})
    assert engine.controls.finish(_voice(engine, "b"))[0].status == "complete"
    assert engine.controls.finish(_voice(engine, "a"))[0].status == "error"


def test_a_tenant_clock_runs_in_real_time_when_asked() -> None:
    engine = _engine()
    assert engine.accounts.reset_tenant("live", frozen_clock=False).clock.frozen is False
    assert engine.accounts.reset_tenant("still").clock.frozen is True


def test_two_options_that_are_not_per_token_are_both_named() -> None:
    with pytest.raises(ConfigError, match=re.escape("api_url, seed cannot be set for one test on a shared server")):
        _engine().accounts.reset_tenant("t", seed=3, api_url="x")


def test_random_failures_can_be_turned_off() -> None:
    engine = _engine()
    engine.simulation.set_random_failures(1.0)
    engine.simulation.set_random_failures(None)
    assert engine.controls.finish(_voice(engine))[0].status == "complete"


def test_stepping_a_tenants_project_happens_at_the_tenants_time() -> None:
    engine = _engine()
    engine.accounts.reset_tenant("mine")
    project_id = _voice(engine, "mine")
    engine.controls.advance(30, tenant="mine")
    assert engine.controls.step(project_id).history[-1].at == START + 30


def test_a_tenant_switched_to_clock_progression_moves_on_its_clock() -> None:
    engine = _engine(progression="poll")
    engine.accounts.reset_tenant("mine")
    project_id = _voice(engine, "mine")
    engine.controls.set_progression("clock", tenant="mine")
    engine.controls.advance(1, tenant="mine")
    assert engine.controls.project(project_id).status == "rendering"


def test_a_code_for_an_outcome_that_is_not_an_error_is_refused_naming_the_status() -> None:
    engine = _engine()
    with pytest.raises(ConfigError, match=re.escape("only an 'error' outcome has a code and message, not 'complete'")):
        engine.controls.force(_voice(engine), "complete", code="processing_timeout")
