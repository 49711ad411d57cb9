"""The health rules on their own: what one outcome does to an account record."""

from __future__ import annotations

import pytest

from any2api.core.errors import GatewayError
from any2api.routing.health import Change, judge, judge_probe
from any2api.routing.pool_ports import AccountRecord, ProbeResult
from any2api.routing.pool_settings import PoolSettings

NOW = 1_000_000.0
S = PoolSettings(failure_threshold=2, cooldown_base=4, cooldown_max=100, rate_limit_cooldown=30)


def rec(**kw: object) -> AccountRecord:
    return AccountRecord(id="a", provider="p", api_key="k", **kw)  # type: ignore[arg-type]


def test_success_notes_the_use_and_clears_failures() -> None:
    r = rec(failures=2, last_error="boom")
    assert judge(r, None, S, NOW) is Change.NOTED
    assert (r.failures, r.last_error, r.last_used) == (0, None, NOW)


@pytest.mark.parametrize(
    "err",
    [
        GatewayError("upstream", "no", upstream_status=401),
        GatewayError("permission", "no", upstream_status=403),
        GatewayError("authentication", "no", code="upstream_auth_failed"),
    ],
)
def test_rejected_credentials_disable(err: GatewayError) -> None:
    r = rec()
    assert judge(r, err, S, NOW) is Change.DISABLED
    assert not r.enabled
    assert r.disabled_by == "health"
    assert r.disabled_reason == r.last_error
    assert r.disabled_reason is not None
    assert r.disabled_reason.endswith(": no")


@pytest.mark.parametrize(
    ("err", "wait"),
    [
        (GatewayError("rate_limit", "slow", upstream_status=429, retry_after=7), 7),
        (GatewayError("rate_limit", "slow", upstream_status=429), 30),  # rate_limit_cooldown
        (GatewayError("quota_exceeded", "broke"), 100),  # cooldown_max
        (GatewayError("upstream", "odd 429", upstream_status=429), 30),
    ],
)
def test_rate_limits_cool_down(err: GatewayError, wait: float) -> None:
    r = rec()
    assert judge(r, err, S, NOW) is Change.COOLED
    assert r.cooldown_until == NOW + wait
    assert r.last_error == err.message
    assert r.failures == 0


def test_a_longer_cooldown_is_never_shortened() -> None:
    r = rec(cooldown_until=NOW + 50)
    judge(r, GatewayError("rate_limit", "x", upstream_status=429, retry_after=5), S, NOW)
    assert r.cooldown_until == NOW + 50


def test_upstream_failures_back_off_exponentially_past_the_threshold() -> None:
    r = rec()
    err = GatewayError("upstream", "HTTP 500", upstream_status=500)
    assert judge(r, err, S, NOW) is Change.NOTED
    assert r.cooldown_until is None
    waits = []
    for _ in range(6):
        assert judge(r, err, S, NOW) is Change.COOLED
        waits.append((r.cooldown_until or 0) - NOW)
        r.cooldown_until = None
    assert waits == [4, 8, 16, 32, 64, 100]
    judge(r, GatewayError("timeout", "slow", retry_after=500), S, NOW)
    assert r.cooldown_until == NOW + 500  # the upstream's own Retry-After wins when longer


@pytest.mark.parametrize("kind", ["invalid_request", "not_found", "payload_too_large", "permission"])
def test_the_requests_own_faults_leave_the_account_alone(kind: str) -> None:
    r = rec()
    assert judge(r, GatewayError(kind, "your fault", upstream_status=400), S, NOW) is Change.NONE  # type: ignore[arg-type]
    assert r == rec()


def test_a_good_probe_restores_only_what_health_took_away() -> None:
    by_health = rec(enabled=False, disabled_by="health", disabled_reason="x", cooldown_until=NOW, failures=3)
    assert judge_probe(by_health, ProbeResult(True)) is Change.RESTORED
    assert by_health.enabled
    assert by_health.disabled_by is None
    assert by_health.cooldown_until is None
    by_admin = rec(enabled=False, disabled_by="admin")
    judge_probe(by_admin, ProbeResult(True))
    assert not by_admin.enabled
    assert by_admin.disabled_by == "admin"


def test_a_failed_probe_disables_on_rejected_credentials_and_notes_other_errors() -> None:
    r = rec()
    assert (
        judge_probe(r, ProbeResult(False, GatewayError("upstream", "no", upstream_status=401)))
        is Change.DISABLED
    )
    by_admin = rec(enabled=False, disabled_by="admin")
    assert (
        judge_probe(by_admin, ProbeResult(False, GatewayError("upstream", "no", upstream_status=401)))
        is Change.NONE
    )
    assert by_admin.disabled_by == "admin"
    other = rec()
    assert judge_probe(other, ProbeResult(False, GatewayError("timeout", "slow"))) is Change.NOTED
    assert other.enabled
    assert other.last_error == "slow"
    assert judge_probe(rec(), ProbeResult(False)) is Change.NONE
