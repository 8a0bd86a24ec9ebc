"""The call journal's helpers and its size limit."""

from __future__ import annotations

import pytest

from mh_mock.journal import Journal


def _record(
    journal: Journal, route: str | None, status: int = 200, project_id: str | None = None, method: str = "GET"
) -> None:
    journal.record(
        at=0.0,
        method=method,
        url=f"https://x/{route}",
        route=route,
        token="t",
        body=None,
        status=status,
        project_id=project_id,
    )


def test_filters_by_route_prefix_method_status_and_project() -> None:
    journal = Journal()
    _record(journal, "projects.get", project_id="p")
    _record(journal, "projects.delete", 204, "p", "DELETE")
    _record(journal, "storage.download", 404, "p")
    _record(journal, None, 404)
    assert [c.route for c in journal.filter("projects.*")] == ["projects.get", "projects.delete"]
    assert len(journal.filter(method="delete")) == 1
    assert journal.downloads("p") == [] and not journal.downloaded("p")
    assert [c.seq for c in journal.unmatched()] == [3]
    assert journal.polls("p") == 1
    assert [c.route for c in journal.calls_after_delete("p")] == ["storage.download"]


def test_assert_no_calls_after_delete_explains_itself() -> None:
    journal = Journal()
    _record(journal, "projects.get", project_id="p")
    with pytest.raises(
        AssertionError, match=r"project p was never deleted; calls about it: GET https://x/projects.get -> 200"
    ):
        journal.assert_no_calls_after_delete("p")
    _record(journal, "projects.delete", 204, "p", "DELETE")
    journal.assert_no_calls_after_delete("p")


def test_a_limited_journal_keeps_the_newest_calls_and_counts_on() -> None:
    journal = Journal(limit=3)
    for _ in range(5):
        _record(journal, "account.get")
    assert [c.seq for c in journal] == [2, 3, 4]
    assert journal.last.seq == 4 and len(journal) == 3
